#!/usr/bin/env python3
"""A paper model of a data-parallel training step on Spark, from costs measured here.

    python3 tools/bench/spark_scaling_model.py [--flops GFLOPS] [--pack MBps] [--add MBps]
                                               [--adamw MBps] [--job S] [--spark-at-one]

Design modelled (the one align4j runs): the driver holds the weights and AdamW; each step it
broadcasts the trainable weights as raw float32 bytes (4P bytes; Spark's torrent broadcast lets
executors pass pieces on, so the driver sends about one copy), every executor computes the
gradient of its share of the step's micro-batches and returns it as raw bytes with its task status
(4P bytes each, all into the driver's link: a star), the driver adds them in order and applies
AdamW. Also shown: the same with the gradients summed by a tree (Spark's treeAggregate, depth
log2 N; the plan for many executors).

Inputs (defaults measured on a loaded 2-core machine: tools/bench/spark-transfer.sh and
tools/bench/spark-train-steps.sh, README "Running on a Spark cluster"; change them with the options):
  * a step is a fixed global batch of 64 sequences x 512 tokens (32,768 tokens), split evenly;
  * compute is 6 x P x tokens FLOPs (attention left out: short sequences), on executors that each
    sustain --flops GFLOPS;
  * each end of a transfer spends 4P / --pack MB/s of CPU on the bytes (sender: out of ND4J and
    serialised; receiver: deserialised and into ND4J);
  * the driver adds a gradient at --add MB/s and takes the AdamW step at --adamw MB/s (of the 4P
    bytes of weights; the step reads and writes weights, gradient and both moments);
  * Spark's fixed cost per step is --job seconds (task launch, result handling), whatever N;
  * links are full duplex at the nominal rate, 80% usable; no overlap of transfer and compute.
"""
import argparse
import math

# Measured on a loaded 2-core machine (tools/bench/spark-transfer.sh, GPT-2-124M's 498 MB of floats, local[1]):
# out: RawFloats.of 1.08 s + broadcast 0.46 s (330 MB/s); back: 2.2 s for the result's pack and unpack (two ends,
# about 450 MB/s each): 300 MB/s per end, rounded down. Ordered add: copy 0.03 s + addi 0.06 s (5.5 GB/s).
# AdamW: the project's optimizer, 0.92 s for 124.4M parameters (540 MB/s of weights). Spark's fixed cost: the
# embedded model's step, job minus the executors' load and compute (0.1 s).
PACK, ADD, ADAMW, JOB = 300.0, 5000.0, 540.0, 0.1

MODELS = {
    # trainable parameters (tied embeddings counted once)
    "SmolLM2-135M": 134.5e6,   # 30 layers, d 576, vocab 49,152
    "Qwen2.5-0.5B": 494.0e6,   # 24 layers, d 896, vocab 151,936
}


def step_time(p, n, gbit, a, tree=False):
    tokens = 64 * 512
    compute = 6 * p * tokens / (a.flops * 1e9) / n
    link = gbit * 1e9 / 8 * 0.8
    size = 4 * p
    pack = size / (a.pack * 1e6)
    opt = size / (a.adamw * 1e6)
    if n == 1 and not a.spark_at_one:
        return compute + opt, {}
    bcast = size / link + pack * 2                   # one copy out of the driver, packed and unpacked once each end
    if tree:
        depth = max(1, math.ceil(math.log2(n)))
        gather = depth * (size / link + 2 * pack + size / (a.add * 1e6))
        reduce = 0.0
    else:
        gather = n * size / link + pack + n * pack    # n gradients into the driver's link, unpacked there
        reduce = (n - 1) * size / (a.add * 1e6)
    parts = {"compute": compute, "bcast": bcast, "gather": gather, "reduce": reduce, "adamw": opt, "spark": a.job}
    return sum(parts.values()), parts


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flops", type=float, default=20.0, help="GFLOPS one executor sustains on a training step")
    ap.add_argument("--pack", type=float, default=PACK, help="MB/s one end spends to pack or unpack the floats")
    ap.add_argument("--add", type=float, default=ADD, help="MB/s of the driver's ordered add of a gradient")
    ap.add_argument("--adamw", type=float, default=ADAMW, help="MB/s (of weights) of the driver's AdamW step")
    ap.add_argument("--job", type=float, default=JOB, help="Spark's fixed seconds per step")
    ap.add_argument("--spark-at-one", action="store_true", help="N=1 also through Spark (else: the single process)")
    a = ap.parse_args()
    print(f"assumed: executor {a.flops:g} GFLOPS, pack/unpack {a.pack:g} MB/s per end, add {a.add:g} MB/s, "
          f"AdamW {a.adamw:g} MB/s, Spark {a.job:g} s/step; global batch 32,768 tokens")
    for name, p in MODELS.items():
        t1, _ = step_time(p, 1, 1, a)
        print(f"\n{name} ({p / 1e6:.0f}M trainable, {4 * p / 1e6:.0f} MB of weights or gradients); "
              f"one process: {t1:.1f} s/step")
        print(f"{'executors':>9} | " + " | ".join(f"{g:>3g} Gbit/s star  (tree)" for g in (1, 10, 100)))
        for n in (2, 4, 8, 16, 32, 64):
            cells = []
            for g in (1, 10, 100):
                t, _ = step_time(p, n, g, a)
                tt, _ = step_time(p, n, g, a, tree=True)
                cells.append(f"{t:6.1f} s x{t1 / t:5.2f} ({t1 / tt:5.2f})")
            print(f"{n:>9} | " + " | ".join(cells))
        _, parts = step_time(p, 16, 10, a)
        print("  at 16 executors, 10 Gbit/s, star: " + ", ".join(f"{k} {v:.2f} s" for k, v in parts.items()))


if __name__ == "__main__":
    main()
