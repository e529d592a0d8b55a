#!/usr/bin/env bash
# Where a data-parallel SFT step's time goes (docs: README "Running on a Spark cluster"): runs a few
# steps in one process and on embedded Spark with 1 and 2 slices, for the embedded base model and a
# randomly initialised GPT-2-124M shape, and prints the medians of the dp/* columns of metrics.jsonl
# (serialise: weights to raw float bytes and a broadcast; job: the Spark job; load: executors reading the
# broadcast weights into their replica; compute: the executors' forward and backward; reduce: the driver's ordered sum) with the bytes moved per step.
# out MB/s: weights over serialise + load; back MB/s: gradients over (job - load - compute) + reduce.
#   tools/bench/spark-train-steps.sh [OUT_DIR]      (Maven offline; compiles what is stale)
#   env: STEPS (4), HEAP (6g), SKIP_EMBEDDED=1, SKIP_124M=1, MODES ("single local[1]:1 local[2]:2")
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:-$(mktemp -d)}"
mkdir -p "$out"
cd "$root"
default_heap=6g
source "$root/tools/bench/spark-classpath.sh"

# training text: the emojibot chats as plain text records are enough for timing
data="$out/text.jsonl"
python3 - "$data" <<'PY'
import json, sys, random
r = random.Random(1)
words = "the cat dog sat ran on under a mat log big small red blue and then".split()
with open(sys.argv[1], "w") as f:
    for i in range(64):
        f.write(json.dumps({"text": " ".join(r.choice(words) for _ in range(400))}) + "\n")
PY

models=()
[ "${SKIP_EMBEDDED:-0}" = 1 ] || models+=("embedded:examples/base-model:128")
if [ "${SKIP_124M:-0}" != 1 ]; then
  [ -d "$out/gpt2-124m" ] || a4j init --tokenizer examples/base-model --vocab-size 50257 --layers 12 --d-model 768 \
      --heads 12 --context 1024 --seed 1 --out "$out/gpt2-124m" >/dev/null
  models+=("gpt2-124m:$out/gpt2-124m:128")
fi

for spec in "${models[@]}"; do
  IFS=: read -r name model len <<<"$spec"
  read -ra modes <<<"${MODES:-single local[1]:1 local[2]:2}"
  for mode in "${modes[@]}"; do
    run="$out/run-$name-${mode//[^a-z0-9]/_}"
    rm -rf "$run"
    extra=()
    [ "$mode" != single ] && extra=(--spark-master "${mode%:*}" --spark-partitions "${mode#*:}")
    a4j sft --model "$model" --train "$data" --out "$run" --max-steps "${STEPS:-4}" --batch-size 2 --grad-accum 2 \
        --max-length "$len" --lr 1e-4 --seed 3 --save-every 1000 "${extra[@]}" >"$run.log" 2>&1 || { cat "$run.log"; exit 1; }
    python3 - "$name" "$mode" "$run/metrics.jsonl" <<'PY'
import json, sys, statistics as st
name, mode, path = sys.argv[1:]
rows = [json.loads(l) for l in open(path)][1:]   # step 1 builds the replicas: left out
med = lambda k: st.median(r[k] for r in rows) if rows and k in rows[0] else float("nan")
step = med("tokens_per_s")
line = f"{name:10s} {mode:11s} step {512 / step:7.3f} s ({step:7.1f} tokens/s)"
if "dp/job_s" in rows[0]:
    line += (f"  serialise {med('dp/serialise_s'):.3f} s  job {med('dp/job_s'):.3f} s  load {med('dp/load_s'):.3f} s  compute {med('dp/compute_s'):.3f} s"
             f"  reduce {med('dp/reduce_s'):.3f} s  weights {med('dp/weight_bytes')/1e6:.1f} MB"
             f"  gradients {med('dp/gradient_bytes')/1e6:.1f} MB")
    # out: the weights to bytes, broadcast and into the replica; back: the job beyond the executors' load and
    # compute (Spark's fixed cost, the gradients' transfer) and the ordered sum
    out_s = med('dp/serialise_s') + med('dp/load_s')
    back_s = med('dp/job_s') - med('dp/load_s') - med('dp/compute_s') + med('dp/reduce_s')
    line += (f"  out {med('dp/weight_bytes')/1e6/out_s:.0f} MB/s  back {med('dp/gradient_bytes')/1e6/back_s:.0f} MB/s")
print(line, flush=True)
PY
  done
done
