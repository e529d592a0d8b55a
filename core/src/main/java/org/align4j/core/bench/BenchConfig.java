package org.align4j.core.bench;

import java.util.List;

import org.align4j.core.model.Architecture;
import org.align4j.core.util.UserInputException;

/**
 * Shape of the random model and the amount of work {@code align4j bench} measures; with
 * {@code gradientCheckpointing} the training steps recompute activations ({@code --gradient-checkpointing}).
 */
public record BenchConfig(Architecture arch, int layers, int dModel, int heads, int kvHeads, int intermediate,
                          boolean tied, int seqLen, int batchSize, int vocab, int steps, int warmupSteps, int genTokens,
                          List<Integer> decodeBatches, long seed, boolean gradientCheckpointing) {

    public BenchConfig {
        if (layers <= 0 || dModel <= 0 || heads <= 0 || seqLen <= 1 || batchSize <= 0 || vocab <= 1 || steps <= 0) {
            throw new UserInputException("bench sizes must be positive (seq-len and vocab at least 2)");
        }
        if (dModel % heads != 0) {
            throw new UserInputException("--d-model " + dModel + " must be divisible by --heads " + heads);
        }
        if (kvHeads <= 0 || heads % kvHeads != 0) {
            throw new UserInputException("--kv-heads " + kvHeads + " must divide --heads " + heads);
        }
        decodeBatches = List.copyOf(decodeBatches);
        if (decodeBatches.isEmpty() || decodeBatches.stream().anyMatch(b -> b < 1 || b > 4096)) {
            throw new UserInputException("--decode-batches needs batch sizes from 1 to 4096: " + decodeBatches);
        }
        if (genTokens >= seqLen) {
            throw new UserInputException("--gen-tokens must be smaller than --seq-len");
        }
    }
}
