package org.align4j.ppo.algos;

import org.align4j.ppo.PpoLoss;

/**
 * A mini-batch's policy objective from per-response arrays: the policy loss of each token weighed by
 * the aggregation, plus (GRPO) {@code beta} times the k3 KL to the reference at each token, weighed
 * alike. Responses with no trained token ({@code trained[i] == 0}) contribute nothing.
 */
public final class PolicyObjective {

    /** The loss, {@code d loss / d logp} per token, and what the metrics report (over trained tokens). */
    public record Result(double loss, double[][] grad, long tokens, int clipped, double approxKl, double ratioSum) {
    }

    private PolicyObjective() {
    }

    /**
     * @param ref the reference's log-probabilities for the KL term, or null for none
     * @param trained tokens of each response that train: its length, or 0 when masked
     */
    public static Result compute(double[][] logp, double[][] old, double[][] adv, double[][] ref, double beta,
                                 int[] trained, LossAggregation aggregation, PolicyLossType type,
                                 PolicyLoss.Settings settings, int maxNewTokens) {
        return compute(logp, old, adv, ref, beta, trained, aggregation.weights(trained, maxNewTokens), type, settings);
    }

    /**
     * As above with each response's aggregation weight given: a part of a mini-batch (a data-parallel
     * shard) weighs its responses as the whole mini-batch does, so the parts' losses and gradients add
     * up to the whole's.
     */
    public static Result compute(double[][] logp, double[][] old, double[][] adv, double[][] ref, double beta,
                                 int[] trained, double[] weights, PolicyLossType type, PolicyLoss.Settings settings) {
        PolicyLoss fn = type.function();
        double total = 0;
        double[][] grad = new double[logp.length][];
        long tokens = 0;
        int clipped = 0;
        double approxKl = 0;
        double ratioSum = 0;
        for (int b = 0; b < logp.length; b++) {
            int n = logp[b].length;
            grad[b] = new double[n];
            if (trained[b] == 0) {
                continue;
            }
            double[] loss = new double[n];
            double[] g = new double[n];
            PolicyLoss.Clip[] clip = new PolicyLoss.Clip[n];
            fn.compute(logp[b], old[b], adv[b], settings, loss, g, clip);
            double w = weights[b];
            for (int j = 0; j < n; j++) {
                double l = loss[j];
                double d = g[j];
                if (ref != null) {
                    double[] k3 = PpoLoss.k3(logp[b][j], ref[b][j]);
                    l += beta * k3[0];
                    d += beta * k3[1];
                }
                total += w * l;
                grad[b][j] = w * d;
                clipped += clip[j] != PolicyLoss.Clip.NONE ? 1 : 0;
                approxKl += 0.5 * (logp[b][j] - old[b][j]) * (logp[b][j] - old[b][j]);
                ratioSum += Math.exp(logp[b][j] - old[b][j]);
                tokens++;
            }
        }
        return new Result(total, grad, tokens, clipped, approxKl, ratioSum);
    }
}
