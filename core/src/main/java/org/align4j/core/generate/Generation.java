package org.align4j.core.generate;

import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * One prompt's continuation. {@code tokenIds} includes a generated end-of-sequence token (PPO
 * trains on it) while {@code completion} text, when decoded, excludes it and any stop string.
 * {@code logprobs[i]} is the log-probability of {@code tokenIds[i]} under the model (softmax of
 * the raw logits, whatever the sampling temperature); {@code topLogprobs[i]} lists the most
 * likely alternatives at that step. {@code finishReason} is {@code stop} or {@code length}.
 */
public record Generation(int[] promptIds, int[] tokenIds, double[] logprobs, List<List<TokenLogprob>> topLogprobs,
                         String finishReason, int completionTokens) {

    /** Whether the continuation ended with one of {@code stops} (rather than at the length limit). */
    public boolean endedWith(Set<Integer> stops) {
        return tokenIds.length > 0 && stops.contains(tokenIds[tokenIds.length - 1]);
    }

    /** The generated tokens less a final stop token: the response a reward or a judge reads. */
    public int[] responseIds(Set<Integer> stops) {
        return endedWith(stops) ? Arrays.copyOf(tokenIds, tokenIds.length - 1) : tokenIds;
    }

    /** The sample's log-probability under the model: the sum over its generated tokens. */
    public double logprobSum() {
        double sum = 0;
        for (double v : logprobs) {
            sum += v;
        }
        return sum;
    }

    /** A candidate token and its log-probability. */
    public record TokenLogprob(int id, double logprob) {
    }
}
