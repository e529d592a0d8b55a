package org.align4j.core.optim;

/** AdamW hyper-parameters (PyTorch's names and defaults, except weight decay as in GPT training). */
public record AdamWConfig(double beta1, double beta2, double eps, double weightDecay) {

    public AdamWConfig {
        if (beta1 < 0 || beta1 >= 1 || beta2 < 0 || beta2 >= 1) {
            throw new IllegalArgumentException("AdamW betas must be in [0, 1), got " + beta1 + ", " + beta2);
        }
        if (eps <= 0 || weightDecay < 0) {
            throw new IllegalArgumentException("AdamW eps must be > 0 and weight_decay >= 0");
        }
    }

    public static AdamWConfig defaults() {
        return new AdamWConfig(0.9, 0.999, 1e-8, 0.0);
    }
}
