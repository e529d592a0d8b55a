package org.align4j.ppo.algos;

/**
 * A policy loss over one response: fills, per token, the loss {@code l_t}, its gradient {@code g_t}
 * and whether a clip bound held it. {@code g_t} is such that, for any aggregation whose weight
 * {@code w} is the same for every token of the response, {@code d(Σ_t w l_t)/dlogp_t = w g_t}
 * (for token-level losses simply {@code dl_t/dlogp_t}; for GSPO, whose one ratio depends on every
 * token, the sum over tokens is folded in).
 */
@FunctionalInterface
public interface PolicyLoss {

    /** Whether the token's gradient was cut by a clip bound: none, the PPO/ratio clip, or the dual clip's. */
    enum Clip { NONE, RATIO, DUAL }

    /** The bounds: ratio in {@code [1 - low, 1 + high]}, dual clip {@code c} (NaN: off), SAPO's temperatures. */
    record Settings(double low, double high, double dualClip, double sapoTemperaturePos,
                    double sapoTemperatureNeg) {

        /** Symmetric clipping at {@code eps}, no dual clip: PPO as it always was. */
        public static Settings symmetric(double eps) {
            return new Settings(eps, eps, Double.NaN, 1.0, 1.05);
        }
    }

    void compute(double[] logp, double[] old, double[] advantages, Settings s, double[] loss, double[] grad,
                 Clip[] clipped);
}
