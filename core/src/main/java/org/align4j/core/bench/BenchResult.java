package org.align4j.core.bench;

/**
 * What {@code align4j bench} measured. {@code mfu} is achieved training FLOP/s (6N + 12 L T C per
 * token, as nanoGPT counts) over the {@code gemmGflops} this machine reached in one large SGEMM.
 * Off-heap memory is the process's resident memory less the committed Java heap, sampled after
 * the warmup steps and after the last step.
 */
public record BenchResult(String backend, long parameters, double trainTokensPerS, double trainStepMs,
                          double genTokensPerSB1, double genTokensPerSB8, double gemmGflops, double trainGflops,
                          double mfu, long offHeapAfterWarmupBytes, long offHeapAfterStepsBytes, int steps,
                          double finalLoss) {
}
