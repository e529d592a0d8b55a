package org.align4j.ppo;

/**
 * The KL coefficient beta: fixed, or the adaptive controller of Ziegler et al. (2019): after each
 * iteration, {@code err = clip(KL / target - 1, -0.2, 0.2)} and
 * {@code beta *= 1 + err * n_steps / horizon}, where KL is the iteration's mean KL per response
 * and n_steps the number of responses. Its value is checkpointed.
 */
public final class KlController {

    private final Double target;
    private final double horizon;
    private double value;

    /** {@code target} null: fixed at {@code initial}. */
    public KlController(double initial, Double target, double horizon) {
        this.value = initial;
        this.target = target;
        this.horizon = horizon;
    }

    public double value() {
        return value;
    }

    public void restore(double v) {
        this.value = v;
    }

    public void update(double kl, int steps) {
        if (target == null) {
            return;
        }
        double err = Math.max(-0.2, Math.min(0.2, kl / target - 1));
        value *= 1 + err * steps / horizon;
    }
}
