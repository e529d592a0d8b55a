package org.align4j.core.bench;

/**
 * What {@code align4j bench} measured. {@code mfu} is achieved training FLOP/s (6N + 12 L T C per
 * token, as nanoGPT counts) over the {@code gemmGflops} this machine reached in one large SGEMM.
 * Memory is the process's resident set after a GC (ND4J's off-heap buffers and the touched
 * heap), sampled after the warmup steps and after the last training step: flat means no step
 * allocates memory that it keeps.
 */
public record BenchResult(String backend, long parameters, double trainTokensPerS, double trainStepMs,
                          double genTokensPerSB1, double genTokensPerSB8, double gemmGflops, double trainGflops,
                          double mfu, long residentAfterWarmupBytes, long residentAfterStepsBytes, int steps,
                          double finalLoss) {
}
