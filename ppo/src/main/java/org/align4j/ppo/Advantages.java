package org.align4j.ppo;

import java.util.List;

/**
 * Advantage estimators. GAE for PPO with a critic; for the critic-free estimators one reward per
 * response, in groups of the K responses of one prompt: RLOO subtracts the mean of the other K-1
 * rewards; GRPO standardises within the group.
 */
public final class Advantages {

    private Advantages() {
    }

    /**
     * Generalised advantage estimation over one response: {@code delta_t = r_t + gamma V_{t+1} - V_t}
     * (V after the last token is 0), {@code A_t = delta_t + gamma lambda A_{t+1}}.
     */
    public static double[] gae(double[] rewards, double[] values, double gamma, double lambda) {
        int n = rewards.length;
        double[] a = new double[n];
        double next = 0;
        for (int t = n - 1; t >= 0; t--) {
            double nextValue = t + 1 < n ? values[t + 1] : 0;
            double delta = rewards[t] + gamma * nextValue - values[t];
            next = delta + gamma * lambda * next;
            a[t] = next;
        }
        return a;
    }

    /** Whitens every value of every sequence together: mean 0, standard deviation 1 (population std, + 1e-8). */
    public static void whiten(List<double[]> sequences) {
        double[] m = meanAndSquaredDeviations(sequences);
        if (m == null) {
            return;
        }
        double std = Math.sqrt(m[1] / m[2]);
        for (double[] s : sequences) {
            for (int i = 0; i < s.length; i++) {
                s[i] = (s[i] - m[0]) / (std + 1e-8);
            }
        }
    }

    /**
     * verl's {@code masked_whiten} over every token of every sequence: {@code (x - mean) / sqrt(var + 1e-8)}
     * with the unbiased (Bessel-corrected) variance; a single token has variance 0.
     */
    public static void maskedWhiten(List<double[]> sequences) {
        double[] m = meanAndSquaredDeviations(sequences);
        if (m == null) {
            return;
        }
        double var = m[2] > 1 ? m[1] / (m[2] - 1) : 0;
        double scale = 1 / Math.sqrt(var + 1e-8);
        for (double[] s : sequences) {
            for (int i = 0; i < s.length; i++) {
                s[i] = (s[i] - m[0]) * scale;
            }
        }
    }

    /** {mean, sum of squared deviations, count} over every value, or null when there are none. */
    private static double[] meanAndSquaredDeviations(List<double[]> sequences) {
        double sum = 0;
        long n = 0;
        for (double[] s : sequences) {
            for (double v : s) {
                sum += v;
                n++;
            }
        }
        if (n == 0) {
            return null;
        }
        double mean = sum / n;
        double ss = 0;
        for (double[] s : sequences) {
            for (double v : s) {
                ss += (v - mean) * (v - mean);
            }
        }
        return new double[] {mean, ss, n};
    }

    /** RLOO: {@code r_i - mean of the other K-1 rewards} of its group (consecutive groups of {@code k}). */
    public static double[] rloo(double[] rewards, int k) {
        double[] a = new double[rewards.length];
        for (int g = 0; g < rewards.length; g += k) {
            double sum = 0;
            for (int i = g; i < g + k; i++) {
                sum += rewards[i];
            }
            for (int i = g; i < g + k; i++) {
                a[i] = rewards[i] - (sum - rewards[i]) / (k - 1);
            }
        }
        return a;
    }

    /** GRPO: {@code (r_i - mean) / (std + eps)} within the group (sample standard deviation, as TRL). */
    public static double[] grpo(double[] rewards, int k, double eps) {
        double[] a = new double[rewards.length];
        for (int g = 0; g < rewards.length; g += k) {
            double mean = 0;
            for (int i = g; i < g + k; i++) {
                mean += rewards[i];
            }
            mean /= k;
            double var = 0;
            for (int i = g; i < g + k; i++) {
                var += (rewards[i] - mean) * (rewards[i] - mean);
            }
            double std = Math.sqrt(var / (k - 1));
            for (int i = g; i < g + k; i++) {
                a[i] = (rewards[i] - mean) / (std + eps);
            }
        }
        return a;
    }
}
