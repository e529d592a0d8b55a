package org.align4j.ppo.algos;

import com.fasterxml.jackson.annotation.JsonValue;

/**
 * How a mini-batch's per-token losses become one number (verl's {@code loss_agg_mode}). Every mode
 * is a weighted sum {@code Σ_i Σ_t w_i l_it} with one weight per sequence, so a mode is its weights.
 * A sequence with no trained token (a masked truncated response) gets weight 0 and, except in
 * {@link #SEQ_MEAN_TOKEN_SUM_NORM}, does not count as a sequence (verl's rule).
 */
public enum LossAggregation {
    /** {@code Σ l / tokens}: every token of the mini-batch weighs the same (DAPO's, TRL's bnpo and dapo). */
    TOKEN_MEAN("token-mean"),
    /** Mean per response, then over responses (GRPO's paper, TRL's grpo). */
    SEQ_MEAN_TOKEN_MEAN("seq-mean-token-mean"),
    /** Sum per response, mean over responses. */
    SEQ_MEAN_TOKEN_SUM("seq-mean-token-sum"),
    /**
     * Sum per response over a constant, {@code sequences x max_new_tokens} (Dr. GRPO; TRL's dr_grpo):
     * no length bias. verl omits the division by the number of sequences; TRL and the paper have it.
     */
    SEQ_MEAN_TOKEN_SUM_NORM("seq-mean-token-sum-norm");

    private final String label;

    LossAggregation(String label) {
        this.label = label;
    }

    /**
     * The weight of each token of sequence {@code i}, given each sequence's number of trained tokens
     * ({@code 0}: the sequence is masked out) and the constant normaliser of Dr. GRPO.
     */
    public double[] weights(int[] tokens, int maxNewTokens) {
        double[] w = new double[tokens.length];
        long total = 0;
        int seqs = 0;
        for (int n : tokens) {
            total += n;
            seqs += n > 0 ? 1 : 0;
        }
        for (int i = 0; i < w.length; i++) {
            if (tokens[i] == 0) {
                continue;
            }
            w[i] = switch (this) {
                case TOKEN_MEAN -> 1.0 / total;
                case SEQ_MEAN_TOKEN_MEAN -> 1.0 / ((double) seqs * tokens[i]);
                case SEQ_MEAN_TOKEN_SUM -> 1.0 / seqs;
                case SEQ_MEAN_TOKEN_SUM_NORM -> 1.0 / ((double) tokens.length * maxNewTokens);
            };
        }
        return w;
    }

    @JsonValue
    @Override
    public String toString() {
        return label;
    }
}
