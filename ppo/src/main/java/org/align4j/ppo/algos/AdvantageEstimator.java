package org.align4j.ppo.algos;

/**
 * An advantage estimator over one iteration's responses (consecutive groups of {@code groupSize}
 * responses of one prompt). It sees each response's score, per-token KL to the reference (with its
 * coefficient, for estimators that put the KL into the reward) and per-token values (GAE only).
 */
@FunctionalInterface
public interface AdvantageEstimator {

    /** Everything an estimator may read. {@code values} is null without a critic. */
    record Input(double[] scores, double[][] kl, double[][] values, int groupSize, double beta, Settings settings) {
    }

    /** GAE's discount and lambda (gamma also discounts REINFORCE++'s returns), whitening, GRPO's scaling. */
    record Settings(double gamma, double lambda, boolean whiten, ScaleRewards scaleRewards) {
    }

    /** Per-token advantages, and per-token returns (the value model's targets; null without one). */
    record Result(double[][] advantages, double[][] returns) {
    }

    Result compute(Input in);
}
