package org.align4j.ppo.algos;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The policy losses by name, as verl's {@code core_algos.py} registers them
 * ({@code @register_policy_loss}). Each is a small function of one response; {@link LossAggregation}
 * weighs the tokens afterwards.
 */
public final class PolicyLosses {

    private static final Map<String, PolicyLoss> REGISTRY = new LinkedHashMap<>();

    static {
        register("vanilla", PolicyLosses::vanilla);
        register("gspo", PolicyLosses::gspo);
        register("cispo", PolicyLosses::cispo);
        register("sapo", PolicyLosses::sapo);
    }

    private PolicyLosses() {
    }

    public static void register(String name, PolicyLoss fn) {
        REGISTRY.put(name, fn);
    }

    public static PolicyLoss get(String name) {
        PolicyLoss fn = REGISTRY.get(name);
        if (fn == null) {
            throw new IllegalArgumentException("no policy loss '" + name + "'; registered: " + REGISTRY.keySet());
        }
        return fn;
    }

    public static Map<String, PolicyLoss> all() {
        return Collections.unmodifiableMap(REGISTRY);
    }

    /**
     * Clipped PPO (Schulman et al. 2017) with separate bounds (DAPO's clip-higher):
     * {@code max(-A r, -A clip(r, 1-low, 1+high))}, {@code r = exp(logp - old)}; with a dual clip
     * {@code c} (Ye et al. 2019, verl's {@code clip_ratio_c}) a negative advantage's loss is also
     * capped at {@code -A c}, so a huge ratio on a bad token cannot blow the update up.
     */
    static void vanilla(double[] logp, double[] old, double[] adv, PolicyLoss.Settings s, double[] loss,
                        double[] grad, PolicyLoss.Clip[] clipped) {
        for (int t = 0; t < logp.length; t++) {
            double a = adv[t];
            double r = Math.exp(logp[t] - old[t]);
            double rc = Math.max(1 - s.low(), Math.min(1 + s.high(), r));
            double unclipped = -a * r;
            double clippedLoss = -a * rc;
            boolean useUnclipped = unclipped >= clippedLoss;
            double l = Math.max(unclipped, clippedLoss);
            // d(-A r)/dlogp = -A r; the clipped term is flat where it binds
            double g = useUnclipped ? -a * r : 0;
            PolicyLoss.Clip c = useUnclipped ? PolicyLoss.Clip.NONE : PolicyLoss.Clip.RATIO;
            if (!Double.isNaN(s.dualClip()) && a < 0 && -a * s.dualClip() < l) {
                l = -a * s.dualClip();
                g = 0;
                c = PolicyLoss.Clip.DUAL;
            }
            loss[t] = l;
            grad[t] = g;
            clipped[t] = c;
        }
    }

    /**
     * GSPO (Zheng et al. 2025): one importance ratio per response, the geometric mean of its token
     * ratios {@code s = exp(mean_t(logp_t - old_t))}, clipped as PPO's:
     * {@code l = max(-A s, -A clip(s, 1-low, 1+high))} at every token (A is the response's). As
     * GSPO-token (and verl), token t's gradient is {@code -A s} where unclipped, which is the
     * sequence-level gradient {@code -A s / |y|} per token summed over the response's tokens.
     */
    static void gspo(double[] logp, double[] old, double[] adv, PolicyLoss.Settings s, double[] loss, double[] grad,
                     PolicyLoss.Clip[] clipped) {
        double mean = 0;
        for (int t = 0; t < logp.length; t++) {
            mean += logp[t] - old[t];
        }
        double ratio = Math.exp(mean / logp.length);
        double rc = Math.max(1 - s.low(), Math.min(1 + s.high(), ratio));
        for (int t = 0; t < logp.length; t++) {
            double a = adv[t];
            double unclipped = -a * ratio;
            double clippedLoss = -a * rc;
            boolean useUnclipped = unclipped >= clippedLoss;
            loss[t] = Math.max(unclipped, clippedLoss);
            grad[t] = useUnclipped ? -a * ratio : 0;
            clipped[t] = useUnclipped ? PolicyLoss.Clip.NONE : PolicyLoss.Clip.RATIO;
        }
    }

    /**
     * CISPO (MiniMax-M1, 2025): the clipped ratio as a detached weight on the log-probability,
     * {@code l = -sg(clip(r, 1-low, 1+high)) A logp}, so every token keeps a gradient
     * {@code -clip(r) A} (none is dropped by the clip, unlike PPO's).
     */
    static void cispo(double[] logp, double[] old, double[] adv, PolicyLoss.Settings s, double[] loss, double[] grad,
                      PolicyLoss.Clip[] clipped) {
        for (int t = 0; t < logp.length; t++) {
            double r = Math.exp(logp[t] - old[t]);
            double rc = Math.max(1 - s.low(), Math.min(1 + s.high(), r));
            loss[t] = -rc * adv[t] * logp[t];
            grad[t] = -rc * adv[t];
            clipped[t] = rc != r ? PolicyLoss.Clip.RATIO : PolicyLoss.Clip.NONE;
        }
    }

    /**
     * SAPO (Qwen, 2025; TRL's sapo): a soft gate in place of the hard clip,
     * {@code l = -A 4 sigmoid(tau (r - 1)) / tau}, tau the positive or negative advantage's temperature;
     * its gradient {@code -A 4 sigma (1 - sigma) r} fades smoothly as r leaves 1.
     */
    static void sapo(double[] logp, double[] old, double[] adv, PolicyLoss.Settings s, double[] loss, double[] grad,
                     PolicyLoss.Clip[] clipped) {
        for (int t = 0; t < logp.length; t++) {
            double a = adv[t];
            double r = Math.exp(logp[t] - old[t]);
            double tau = a > 0 ? s.sapoTemperaturePos() : s.sapoTemperatureNeg();
            double sig = 1 / (1 + Math.exp(-tau * (r - 1)));
            loss[t] = -a * sig * 4 / tau;
            grad[t] = -a * 4 * sig * (1 - sig) * r;
            clipped[t] = PolicyLoss.Clip.NONE;
        }
    }
}
