package org.align4j.ppo.algos;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.align4j.ppo.Advantages;

/**
 * The advantage estimators by name, as verl's {@code core_algos.py} registers them
 * ({@code @register_adv_est}). Where the KL to the reference goes differs: GAE, RLOO and both
 * REINFORCE++ put {@code -beta KL_t} into the per-token reward (the response's score at its last
 * token); GRPO leaves the reward alone and adds the KL to the loss instead.
 */
public final class AdvantageEstimators {

    /** GRPO's epsilon under the standard deviation (TRL's 1e-4). */
    static final double GRPO_EPS = 1e-4;

    private static final Map<String, AdvantageEstimator> REGISTRY = new LinkedHashMap<>();

    static {
        register("gae", AdvantageEstimators::gae);
        register("rloo", AdvantageEstimators::rloo);
        register("grpo", AdvantageEstimators::grpo);
        register("reinforce++", AdvantageEstimators::reinforcePlusPlus);
        register("reinforce++-baseline", AdvantageEstimators::reinforcePlusPlusBaseline);
    }

    private AdvantageEstimators() {
    }

    public static void register(String name, AdvantageEstimator fn) {
        REGISTRY.put(name, fn);
    }

    public static AdvantageEstimator get(String name) {
        AdvantageEstimator fn = REGISTRY.get(name);
        if (fn == null) {
            throw new IllegalArgumentException("no advantage estimator '" + name + "'; registered: "
                    + REGISTRY.keySet());
        }
        return fn;
    }

    public static Map<String, AdvantageEstimator> all() {
        return Collections.unmodifiableMap(REGISTRY);
    }

    /** The per-token rewards of RLHF: {@code -beta KL_t}, plus the score at the last token. */
    static double[] tokenRewards(double score, double[] kl, double beta) {
        double[] r = new double[kl.length];
        for (int j = 0; j < r.length; j++) {
            r[j] = -beta * kl[j];
        }
        r[r.length - 1] += score;
        return r;
    }

    /** A response's total reward with the KL in it: {@code score - beta Σ_t KL_t}. */
    static double[] sequenceRewards(AdvantageEstimator.Input in) {
        double[] r = new double[in.scores().length];
        for (int b = 0; b < r.length; b++) {
            double kl = 0;
            for (double v : in.kl()[b]) {
                kl += v;
            }
            r[b] = in.scores()[b] - in.beta() * kl;
        }
        return r;
    }

    /** One advantage per response, the same at each of its tokens. */
    static double[][] broadcast(double[] perSequence, double[][] like) {
        double[][] a = new double[like.length][];
        for (int b = 0; b < a.length; b++) {
            a[b] = new double[like[b].length];
            Arrays.fill(a[b], perSequence[b]);
        }
        return a;
    }

    /** PPO's: GAE(gamma, lambda) over the KL-shaped rewards against the value model; returns = A + V; whitened. */
    static AdvantageEstimator.Result gae(AdvantageEstimator.Input in) {
        int n = in.scores().length;
        double[][] adv = new double[n][];
        double[][] ret = new double[n][];
        for (int b = 0; b < n; b++) {
            double[] rewards = tokenRewards(in.scores()[b], in.kl()[b], in.beta());
            adv[b] = Advantages.gae(rewards, in.values()[b], in.settings().gamma(), in.settings().lambda());
            ret[b] = new double[rewards.length];
            for (int j = 0; j < rewards.length; j++) {
                ret[b][j] = adv[b][j] + in.values()[b][j];
            }
        }
        if (in.settings().whiten()) {
            Advantages.whiten(Arrays.asList(adv));
        }
        return new AdvantageEstimator.Result(adv, ret);
    }

    /** RLOO (Ahmadian et al. 2024): the KL-shaped reward minus the mean of the group's other K-1. */
    static AdvantageEstimator.Result rloo(AdvantageEstimator.Input in) {
        return new AdvantageEstimator.Result(broadcast(Advantages.rloo(sequenceRewards(in), in.groupSize()), in.kl()),
                null);
    }

    /**
     * GRPO (Shao et al. 2024): the score minus its group's mean, divided by the group's sample
     * standard deviation (+1e-4), the batch's, or nothing (Dr. GRPO), as TRL's {@code scale_rewards}.
     */
    static AdvantageEstimator.Result grpo(AdvantageEstimator.Input in) {
        double[] a = grpo(in.scores(), in.groupSize(), in.settings().scaleRewards());
        return new AdvantageEstimator.Result(broadcast(a, in.kl()), null);
    }

    static double[] grpo(double[] scores, int k, ScaleRewards scale) {
        if (scale == ScaleRewards.GROUP) {
            return Advantages.grpo(scores, k, GRPO_EPS);
        }
        double[] a = new double[scores.length];
        for (int g = 0; g < scores.length; g += k) {
            double mean = 0;
            for (int i = g; i < g + k; i++) {
                mean += scores[i];
            }
            mean /= k;
            for (int i = g; i < g + k; i++) {
                a[i] = scores[i] - mean;
            }
        }
        if (scale == ScaleRewards.BATCH) {
            double std = Math.sqrt(unbiasedVariance(scores));
            for (int i = 0; i < a.length; i++) {
                a[i] /= std + GRPO_EPS;
            }
        }
        return a;
    }

    /**
     * REINFORCE++ (Hu 2025; verl's reinforce_plus_plus): per-token returns
     * {@code G_t = r_t + gamma G_{t+1}} of the KL-shaped rewards, whitened over every token of the batch.
     */
    static AdvantageEstimator.Result reinforcePlusPlus(AdvantageEstimator.Input in) {
        int n = in.scores().length;
        double[][] ret = new double[n][];
        for (int b = 0; b < n; b++) {
            double[] r = tokenRewards(in.scores()[b], in.kl()[b], in.beta());
            ret[b] = new double[r.length];
            double running = 0;
            for (int t = r.length - 1; t >= 0; t--) {
                running = r[t] + in.settings().gamma() * running;
                ret[b][t] = running;
            }
        }
        double[][] adv = new double[n][];
        for (int b = 0; b < n; b++) {
            adv[b] = ret[b].clone();
        }
        maskedWhiten(Arrays.asList(adv));
        return new AdvantageEstimator.Result(adv, null);
    }

    /**
     * REINFORCE++-baseline (verl's reinforce_plus_plus_baseline): the response's KL-shaped total
     * reward minus its group's mean (0 for a group of one), at every token, whitened over every
     * token of the batch.
     */
    static AdvantageEstimator.Result reinforcePlusPlusBaseline(AdvantageEstimator.Input in) {
        double[] r = sequenceRewards(in);
        int k = in.groupSize();
        double[] centred = new double[r.length];
        for (int g = 0; g < r.length; g += k) {
            double mean = 0;
            for (int i = g; i < g + k; i++) {
                mean += r[i];
            }
            mean = k == 1 ? 0 : mean / k;
            for (int i = g; i < g + k; i++) {
                centred[i] = r[i] - mean;
            }
        }
        double[][] adv = broadcast(centred, in.kl());
        maskedWhiten(Arrays.asList(adv));
        return new AdvantageEstimator.Result(adv, null);
    }

    /**
     * verl's {@code masked_whiten} over every token of every sequence: {@code (x - mean) / sqrt(var + 1e-8)}
     * with the unbiased (Bessel-corrected) variance; a single token has variance 0.
     */
    static void maskedWhiten(List<double[]> sequences) {
        double sum = 0;
        long n = 0;
        for (double[] s : sequences) {
            for (double v : s) {
                sum += v;
                n++;
            }
        }
        if (n == 0) {
            return;
        }
        double mean = sum / n;
        double var = 0;
        for (double[] s : sequences) {
            for (double v : s) {
                var += (v - mean) * (v - mean);
            }
        }
        var = n > 1 ? var / (n - 1) : 0;
        double scale = 1 / Math.sqrt(var + 1e-8);
        for (double[] s : sequences) {
            for (int i = 0; i < s.length; i++) {
                s[i] = (s[i] - mean) * scale;
            }
        }
    }

    static double unbiasedVariance(double[] x) {
        if (x.length < 2) {
            return 0;
        }
        double mean = 0;
        for (double v : x) {
            mean += v;
        }
        mean /= x.length;
        double var = 0;
        for (double v : x) {
            var += (v - mean) * (v - mean);
        }
        return var / (x.length - 1);
    }
}
