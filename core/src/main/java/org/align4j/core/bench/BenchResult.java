package org.align4j.core.bench;

import java.util.List;

/**
 * What {@code align4j bench} measured. {@code mfu} is achieved training FLOP/s (6N + 12 L T C per
 * token, as nanoGPT counts) over the {@code gemmGflops} this machine reached in one large SGEMM.
 * Memory is the process's resident set after a GC (ND4J's off-heap buffers and the touched
 * heap), sampled after the warmup steps and after the last training step: flat means no step
 * allocates memory that it keeps. {@code trainPeakResidentBytes} is the process's peak resident set
 * over the training steps (Linux's {@code VmHWM}, reset once the model exists, so it counts the
 * weights, gradients, optimizer state, activations and the heap; -1 where the system does not say).
 * {@code readGBps} is the measured read bandwidth that bounds
 * decoding; {@code prefillTokensPerS} the prompt's forward through the KV cache at the training
 * batch and length.
 */
public record BenchResult(String backend, long parameters, double trainTokensPerS, double trainStepMs,
                          List<Decode> decode, double prefillTokensPerS, double samplingShare, double readGBps,
                          double gemmGflops, double trainGflops, double mfu, long residentAfterWarmupBytes,
                          long residentAfterStepsBytes, long trainPeakResidentBytes, int steps,
                          double finalLoss) {

    /**
     * Decoding at one batch size: generated tokens/s (greedy, prefill of the 16-token prompts
     * included), the bytes one step reads (weights once, and the KV cache at the generation's mean
     * length), and the fractions of the two bounds: memory (bytes per step over the read bandwidth)
     * and compute (2 FLOPs per weight per token plus attention over the cache, over the SGEMM peak).
     */
    public record Decode(int batch, double tokensPerS, double bytesPerStep, double memoryBoundFraction,
                         double computeBoundFraction) {
    }

    /** Tokens/s at {@code batch}, or NaN when it was not measured. */
    public double decodeTokensPerS(int batch) {
        return decode.stream().filter(d -> d.batch() == batch).mapToDouble(Decode::tokensPerS).findFirst()
                .orElse(Double.NaN);
    }
}
