package org.align4j.core.generate;

import java.util.ArrayList;
import java.util.Arrays;
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

    /**
     * Zeroes every probability outside the top {@code keep} (ties: lower id first) and then outside the
     * smallest prefix of them whose share of their mass reaches {@code topP}; {@code p} is
     * {@code exp((logits - max) / T)}, so ordering by logit is ordering by probability. Only the tokens
     * above a threshold are sorted, as primitive keys (logit, then id) rather than boxed indices with a
     * comparator (milliseconds a row for a whole vocabulary): every token below the threshold is less
     * likely than all above it, so their sorted prefix is the vocabulary's as long as it covers the
     * kept tokens; otherwise the threshold falls and it sorts again.
     */
    static void keepNucleus(double[] p, float[] logits, int keep, double topP) {
        int v = p.length;
        double max = 0;
        double all = 0;
        for (double x : p) {
            max = Math.max(max, x);
            all += x;
        }
        long[] order = new long[v];
        for (double thr = max * 1e-3; ; thr = thr > max * 1e-12 ? thr * 1e-3 : 0) {
            int count = 0;
            for (int j = 0; j < v; j++) {
                if (p[j] >= thr) {
                    order[count++] = descendingKey(logits[j], j);
                }
            }
            // the top-k mass needs all k tokens unless they are the whole vocabulary
            if (count < keep && keep < v && thr > 0) {
                continue;
            }
            Arrays.sort(order, 0, count);
            double total = 0;
            if (keep == v) {
                total = all;
            } else {
                for (int k = 0; k < keep; k++) {
                    total += p[(int) order[k]];
                }
            }
            int kept = Math.min(keep, count);
            if (topP < 1) {
                double cum = 0;
                int k = 0;
                while (k < kept) {
                    cum += p[(int) order[k]] / total;
                    k++;
                    if (cum >= topP) {
                        break;
                    }
                }
                if (cum < topP && kept < keep && thr > 0) {
                    continue; // the nucleus reaches below the threshold
                }
                kept = k;
            }
            boolean[] in = new boolean[v];
            for (int k = 0; k < kept; k++) {
                in[(int) order[k]] = true;
            }
            for (int j = 0; j < v; j++) {
                if (!in[j]) {
                    p[j] = 0;
                }
            }
            return;
        }
    }

    /** A key that sorts ascending as the logit descending, then the id ascending (id in the low 32 bits). */
    private static long descendingKey(float logit, int id) {
        int bits = Float.floatToIntBits(-logit);
        int ordered = bits ^ ((bits >> 31) & 0x7fffffff); // signed order of the float
        return ((long) ordered << 32) | id;
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
            keepNucleus(p, logits, cfg.topK() > 0 ? Math.min(cfg.topK(), v) : v, cfg.topP());
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
