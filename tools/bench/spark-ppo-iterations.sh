#!/usr/bin/env bash
# Where a PPO iteration's time goes with --spark-master (docs: README "Running on a Spark cluster"): runs a
# few iterations of the embedded base model with a reward model (the base model with a head trained for one
# step) and a value model started from it, in one process and on embedded Spark with 1 and 2 slices, and
# prints the medians over iterations 2.. (iteration 1 builds the executors' replicas) of metrics.jsonl's
#   rollout: sampling (on the executors with Spark)
#   score:   the reward model's forward (there too)
#   passes:  the old-policy, reference and value forwards over the responses (there too)
#   update:  ppo_epochs x mini_batches updates, each a data-parallel gradient with Spark
# and the weights broadcast per iteration: policy and value, once for the rollout and its passes and once per
# update, each read once by every executor JVM.
#   tools/bench/spark-ppo-iterations.sh [OUT_DIR]      (Maven offline; compiles what is stale)
#   ITERATIONS=5 PROMPTS=8 SAMPLES=2 NEW_TOKENS=32 MINI_BATCHES=2 tools/bench/spark-ppo-iterations.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:-$(mktemp -d)}"
mkdir -p "$out"
cd "$root"
default_heap=4g
source "$root/tools/bench/spark-classpath.sh"

model=examples/base-model
iterations="${ITERATIONS:-5}"
mini="${MINI_BATCHES:-2}"
# a reward model: preference pairs of right and wrong answers to the arithmetic prompts, one step
pairs="$out/pairs.jsonl"
python3 - "$pairs" <<'PY'
import json, sys
with open("examples/arithmetic/prompts.train.jsonl") as f, open(sys.argv[1], "w") as o:
    for i, line in enumerate(f):
        if i == 64:
            break
        r = json.loads(line)
        o.write(json.dumps({"prompt": r["prompt"], "chosen": " " + r["answer"],
                            "rejected": " " + str(int(r["answer"]) + 3)}) + "\n")
PY
if [ ! -d "$out/rm/final" ]; then
  a4j reward --model "$model" --train "$pairs" --out "$out/rm" --max-steps 1 --batch-size 8 --seed 1 \
      --save-every 1000 >"$out/rm.log" 2>&1 || { cat "$out/rm.log"; exit 1; }
fi

for mode in single "local[1]:1" "local[2]:2"; do
  run="$out/ppo-${mode//[^a-z0-9]/_}"
  rm -rf "$run"
  extra=()
  [ "$mode" != single ] && extra=(--spark-master "${mode%:*}" --spark-partitions "${mode#*:}")
  a4j ppo --model "$model" --reward-model "$out/rm/final" --prompts examples/arithmetic/prompts.train.jsonl \
      --out "$run" --max-steps "$iterations" --batch-size "${PROMPTS:-8}" --samples-per-prompt "${SAMPLES:-2}" \
      --max-new-tokens "${NEW_TOKENS:-32}" --ppo-epochs 1 --mini-batches "$mini" --lr 1e-5 --seed 3 \
      --save-every 1000 "${extra[@]}" >"$run.log" 2>&1 || { cat "$run.log"; exit 1; }
  python3 - "$mode" "$run/metrics.jsonl" "$mini" <<'PY'
import json, sys, statistics as st
mode, path, mini = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = [json.loads(l) for l in open(path)][1:]   # iteration 1 builds the replicas: left out
med = lambda k: st.median(r[k] for r in rows) if rows and k in rows[0] else float("nan")
rollout, scoring, passes, update = med("time/rollout"), med("time/scoring"), med("time/passes"), med("time/update")
line = (f"{mode:11s} iteration {rollout + scoring + update:6.3f} s: rollout {rollout:.3f} s  score {scoring - passes:.3f} s"
        f"  passes {passes:.3f} s  update {update:.3f} s")
if "dp/weight_bytes" in rows[0]:
    w = med("dp/weight_bytes")
    line += f"  |  weights {w / 1e6:.1f} MB x {1 + mini} broadcasts = {w * (1 + mini) / 1e6:.1f} MB per iteration"
print(line, flush=True)
PY
done
