package org.align4j.core.generate;

import org.align4j.core.util.UserInputException;

import java.io.Serializable;
import java.util.List;
import java.util.Set;

/**
 * How to pick tokens. {@code temperature == 0} is greedy; {@code topK <= 0} and {@code topP >= 1}
 * disable those filters. Record {@code i} of a list samples from its own random stream derived
 * from {@code seed} and {@code i} ({@link Generator#recordRandom}), so however the list is cut into
 * batches (or Spark partitions) a record draws the same numbers. {@code logprobs} is the number of top alternatives to report per token.
 */
public record SamplingConfig(int maxNewTokens, double temperature, int topK, double topP, long seed, int logprobs,
                             Set<Integer> stopTokenIds, List<String> stopStrings) implements Serializable {

    public SamplingConfig {
        if (maxNewTokens < 0) {
            throw new UserInputException("max new tokens must be >= 0, got " + maxNewTokens);
        }
        if (temperature < 0) {
            throw new UserInputException("temperature must be >= 0 (0 = greedy), got " + temperature);
        }
        if (topP <= 0 || topP > 1) {
            throw new UserInputException("top-p must be in (0, 1], got " + topP);
        }
        if (logprobs < 0) {
            throw new UserInputException("logprobs must be >= 0, got " + logprobs);
        }
        stopTokenIds = stopTokenIds == null ? Set.of() : Set.copyOf(stopTokenIds);
        stopStrings = stopStrings == null ? List.of() : List.copyOf(stopStrings);
    }

    public static SamplingConfig greedy(int maxNewTokens) {
        return new SamplingConfig(maxNewTokens, 0, 0, 1, 0, 0, Set.of(), List.of());
    }

    public boolean greedy() {
        return temperature == 0;
    }
}
