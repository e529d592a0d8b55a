package org.align4j.core.generate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import org.align4j.core.kernels.FastMath;

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

    /** Logit buckets of the top-k/top-p filter: a flat vocabulary of 49,152 puts a dozen tokens in each. */
    private static final int BUCKETS = 4096;

    /**
     * Zeroes every probability outside the top {@code keep} (ties: lower id first) and then outside the
     * smallest prefix of them whose share of their mass reaches {@code topP}; {@code p} is
     * {@code exp((logits - max) / T)}, so ordering by logit is ordering by probability. Without
     * sorting the vocabulary (a flat random model's nucleus is most of it: milliseconds a row): tokens
     * go into buckets of equal logit width, highest first, which keeps their order between buckets;
     * counts and masses per bucket find the bucket where top-k and top-p end, and only those buckets
     * are sorted (logit, then id).
     */
    static void keepNucleus(double[] p, float[] logits, int keep, double topP) {
        int v = p.length;
        float hi = Float.NEGATIVE_INFINITY;
        float lo = Float.POSITIVE_INFINITY;
        double all = 0;
        for (int j = 0; j < v; j++) {
            all += p[j];
            hi = Math.max(hi, logits[j]);
            if (p[j] > 0) {
                lo = Math.min(lo, logits[j]); // tokens of probability 0 go to the last bucket
            }
        }
        double width = (hi - (double) lo) / BUCKETS;
        int[] bucket = new int[v];
        int[] count = new int[BUCKETS];
        for (int j = 0; j < v; j++) {
            int b = width > 0 ? (int) Math.min(BUCKETS - 1, (hi - (double) logits[j]) / width) : 0;
            bucket[j] = b;
            count[b]++;
        }
        boolean[] top = new boolean[v];
        double total = all;
        if (keep < v) {
            int kb = 0;
            int before = 0;
            while (before + count[kb] < keep) {
                before += count[kb++];
            }
            for (int j = 0; j < v; j++) {
                top[j] = bucket[j] < kb;
            }
            long[] sorted = sortedBucket(kb, bucket, logits, null);
            for (int k = 0; k < keep - before; k++) {
                top[(int) sorted[k]] = true;
            }
            total = 0;
            for (int j = 0; j < v; j++) {
                if (top[j]) {
                    total += p[j];
                }
            }
        } else {
            Arrays.fill(top, true);
        }
        if (topP < 1) {
            double[] mass = new double[BUCKETS];
            for (int j = 0; j < v; j++) {
                if (top[j]) {
                    mass[bucket[j]] += p[j];
                }
            }
            double cum = 0;
            int pb = 0;
            while (pb < BUCKETS && cum + mass[pb] / total < topP) {
                cum += mass[pb++] / total;
            }
            if (pb < BUCKETS) {
                // the nucleus ends inside bucket pb: keep the buckets before it and its best tokens
                long[] sorted = sortedBucket(pb, bucket, logits, top);
                for (int j = 0; j < v; j++) {
                    top[j] = top[j] && bucket[j] < pb;
                }
                for (long key : sorted) {
                    int j = (int) key;
                    top[j] = true;
                    cum += p[j] / total;
                    if (cum >= topP) {
                        break;
                    }
                }
            }
        }
        for (int j = 0; j < v; j++) {
            if (!top[j]) {
                p[j] = 0;
            }
        }
    }

    /** Keys of bucket {@code b}'s tokens, sorted (logit descending, then id); only the {@code eligible} ones unless null. */
    private static long[] sortedBucket(int b, int[] bucket, float[] logits, boolean[] eligible) {
        int n = 0;
        long[] keys = new long[16];
        for (int j = 0; j < bucket.length; j++) {
            if (bucket[j] == b && (eligible == null || eligible[j])) {
                if (n == keys.length) {
                    keys = Arrays.copyOf(keys, 2 * n);
                }
                keys[n++] = descendingKey(logits[j], j);
            }
        }
        keys = Arrays.copyOf(keys, n);
        Arrays.sort(keys);
        return keys;
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
            // the kernels' float exp (relative error below 3e-7; Math.exp cost ~50 ns a token here);
            // below e^-87 a token's probability is 0, as masked ids' must be
            double x = (logits[j] - max) / cfg.temperature();
            p[j] = x < -87 ? 0 : FastMath.exp((float) x);
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
