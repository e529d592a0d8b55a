package org.align4j.core.generate;

import java.util.List;

/**
 * One prompt's continuation. {@code tokenIds} includes a generated end-of-sequence token (PPO
 * trains on it) while {@code completion} text, when decoded, excludes it and any stop string.
 * {@code logprobs[i]} is the log-probability of {@code tokenIds[i]} under the model (softmax of
 * the raw logits, whatever the sampling temperature); {@code topLogprobs[i]} lists the most
 * likely alternatives at that step. {@code finishReason} is {@code stop} or {@code length}.
 */
public record Generation(int[] promptIds, int[] tokenIds, double[] logprobs, List<List<TokenLogprob>> topLogprobs,
                         String finishReason, int completionTokens) {

    /** A candidate token and its log-probability. */
    public record TokenLogprob(int id, double logprob) {
    }
}
