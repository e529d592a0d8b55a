package org.align4j.core.generate;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Token choice from one row of logits: greedy, temperature, top-k, top-p. */
final class Sampling {

    private Sampling() {
    }

    static int argmax(float[] logits) {
        int best = 0;
        for (int j = 1; j < logits.length; j++) {
            if (logits[j] > logits[best]) {
                best = j;
            }
        }
        return best;
    }

    /** log Σ exp(logits), computed stably. */
    static double logSumExp(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp(l - max);
        }
        return max + Math.log(sum);
    }

    static double[] logSoftmax(float[] logits) {
        double lse = logSumExp(logits);
        double[] out = new double[logits.length];
        for (int j = 0; j < logits.length; j++) {
            out[j] = logits[j] - lse;
        }
        return out;
    }

    /** The {@code n} most likely tokens with log-probabilities {@code logit - lse}, most likely first. */
    static List<Generation.TokenLogprob> top(float[] logits, double lse, int n) {
        double[] logp = new double[logits.length];
        for (int j = 0; j < logits.length; j++) {
            logp[j] = logits[j] - lse;
        }
        return top(logp, n);
    }

    /** The {@code n} most likely tokens, most likely first (ties: lower id first). */
    static List<Generation.TokenLogprob> top(double[] logp, int n) {
        n = Math.min(n, logp.length);
        int[] best = new int[n];
        int filled = 0;
        for (int j = 0; j < logp.length; j++) {
            if (filled < n) {
                int k = filled++;
                while (k > 0 && logp[best[k - 1]] < logp[j]) {
                    best[k] = best[k - 1];
                    k--;
                }
                best[k] = j;
            } else if (logp[j] > logp[best[n - 1]]) {
                int k = n - 1;
                while (k > 0 && logp[best[k - 1]] < logp[j]) {
                    best[k] = best[k - 1];
                    k--;
                }
                best[k] = j;
            }
        }
        List<Generation.TokenLogprob> out = new ArrayList<>(n);
        for (int k = 0; k < n; k++) {
            out.add(new Generation.TokenLogprob(best[k], logp[best[k]]));
        }
        return out;
    }

    /** Samples from softmax(logits / T) restricted by top-k, then top-p. */
    static int sample(float[] logits, SamplingConfig cfg, SplittableRandom rng) {
        int v = logits.length;
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double[] p = new double[v];
        for (int j = 0; j < v; j++) {
            p[j] = Math.exp((logits[j] - max) / cfg.temperature());
        }
        boolean filter = (cfg.topK() > 0 && cfg.topK() < v) || cfg.topP() < 1;
        if (filter) {
            Integer[] order = new Integer[v];
            for (int j = 0; j < v; j++) {
                order[j] = j;
            }
            java.util.Arrays.sort(order, (a, b) -> p[b] != p[a] ? Double.compare(p[b], p[a]) : Integer.compare(a, b));
            int keep = cfg.topK() > 0 ? Math.min(cfg.topK(), v) : v;
            if (cfg.topP() < 1) {
                double total = 0;
                for (int k = 0; k < keep; k++) {
                    total += p[order[k]];
                }
                double cum = 0;
                int k = 0;
                while (k < keep) {
                    cum += p[order[k]] / total;
                    k++;
                    if (cum >= cfg.topP()) {
                        break;
                    }
                }
                keep = k;
            }
            for (int k = keep; k < v; k++) {
                p[order[k]] = 0;
            }
        }
        double total = 0;
        for (double x : p) {
            total += x;
        }
        double u = rng.nextDouble() * total;
        double cum = 0;
        int last = 0;
        for (int j = 0; j < v; j++) {
            if (p[j] > 0) {
                cum += p[j];
                last = j;
                if (u < cum) {
                    return j;
                }
            }
        }
        return last;
    }
}
