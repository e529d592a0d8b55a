#!/usr/bin/env bash
# Every figure of the README's speed tables: align4j bench and tools/bench/torch_bench.py on the GPT-2
# shape and the SmolLM2-135M shape, interleaved (align4j, PyTorch, align4j, ...), each run's JSON and
# the load (uptime) before it written to a directory, then the medians of every figure.
#   tools/bench/speed_tables.sh [rounds (default 3)] [out dir (default bench-runs)]
# Quick decoding-only variant (one training step):  QUICK=1 tools/bench/speed_tables.sh 1
# Run it on a quiet machine: figures taken beside other work are not worth quoting.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
rounds="${1:-3}"
out="${2:-bench-runs}"
mkdir -p "$out"
batches="1,4,8,16,32"
if [ "${QUICK:-0}" = 1 ]; then
  gpt2_train="--steps 1 --warmup-steps 0"; smol_train="--steps 1 --warmup-steps 0"; torch_train="--no-train"
else
  gpt2_train="--steps 20"; smol_train="--steps 5"; torch_train=""
fi
gpt2="--layers 6 --d-model 384 --heads 6 --seq-len 256 --batch-size 8 --vocab 8192 --gen-tokens 64"
smol="--preset smollm2-135m --seq-len 256 --batch-size 4 --gen-tokens 64"
run() { # name command...
  local name="$1"; shift
  { date -u +%FT%TZ; uptime; } > "$out/$name.load"
  "$@" > "$out/$name.json" 2> "$out/$name.log" || { echo "failed: $name (see $out/$name.log)" >&2; return 1; }
  echo "$name: $(cut -c1-200 "$out/$name.json")"
}
for r in $(seq 1 "$rounds"); do
  run "align4j-gpt2-$r" "$root/align4j" bench $gpt2 $gpt2_train --decode-batches $batches --json
  run "torch-gpt2-$r" /usr/bin/python3 "$root/tools/bench/torch_bench.py" $gpt2 --steps 20 $torch_train --decode-batches $batches
  run "align4j-smollm2-$r" "$root/align4j" bench $smol $smol_train --decode-batches $batches --json
  run "torch-smollm2-$r" /usr/bin/python3 "$root/tools/bench/torch_bench.py" $smol --steps 5 $torch_train --decode-batches $batches
done
/usr/bin/python3 - "$out" <<'PY'
import glob, json, statistics, sys
out = sys.argv[1]
for impl in ("align4j", "torch"):
    for shape in ("gpt2", "smollm2"):
        runs = [json.load(open(f)) for f in sorted(glob.glob(f"{out}/{impl}-{shape}-*.json"))]
        if not runs:
            continue
        def med(get):
            vals = [v for v in (get(r) for r in runs) if v is not None and v == v]
            return statistics.median(vals) if vals else float("nan")
        line = [f"{impl} {shape} ({len(runs)} runs):"]
        for key in ("train_tokens_per_s", "mfu", "gemm_gflops", "prefill_tokens_per_s", "read_gbps", "sampling_share_b8"):
            if key in runs[0]:
                line.append(f"{key} {med(lambda r: r.get(key)):.3g}")
        for b in runs[0].get("decode_tokens_per_s", {}):
            s = f"b{b} {med(lambda r: r['decode_tokens_per_s'].get(b)):.1f} tok/s"
            if "decode_memory_bound_fraction" in runs[0]:
                s += f" ({100 * med(lambda r: r['decode_memory_bound_fraction'].get(b)):.0f}% mem," \
                     f" {100 * med(lambda r: r['decode_compute_bound_fraction'].get(b)):.0f}% compute)"
            line.append(s)
        print("; ".join(line))
loads = [open(f).read().split("load average:")[1].strip() for f in sorted(glob.glob(f"{out}/*.load"))]
print("load averages before the runs:", " | ".join(loads))
PY
