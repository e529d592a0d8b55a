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
     * Buffers of one row's sampling, allocated once per generation and reused at every step: a fresh
     * set per row and step (about 150 KB at a vocabulary of 8,192) cost more than the arithmetic.
     * One per row, so rows sampled in parallel never share one.
     */
    static final class Scratch {
        final double[] p;
        final int[] bucket;
        final boolean[] top;
        final int[] count = new int[BUCKETS];
        final double[] mass = new double[BUCKETS];
        long[] keys = new long[16];

        Scratch(int vocab) {
            p = new double[vocab];
            bucket = new int[vocab];
            top = new boolean[vocab];
        }
    }

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
        keepNucleus(p, logits, 0, p.length, keep, topP, new Scratch(p.length));
    }

    /** As above for the row of {@code v} logits at {@code off}, with the buffers of {@code s}. */
    static void keepNucleus(double[] p, float[] logits, int off, int v, int keep, double topP, Scratch s) {
        float hi = Float.NEGATIVE_INFINITY;
        float lo = Float.POSITIVE_INFINITY;
        double all = 0;
        for (int j = 0; j < v; j++) {
            all += p[j];
            hi = Math.max(hi, logits[off + j]);
            if (p[j] > 0) {
                lo = Math.min(lo, logits[off + j]); // tokens of probability 0 go to the last bucket
            }
        }
        double width = (hi - (double) lo) / BUCKETS;
        // a product instead of a division per token: the buckets' edges move by a rounding, but the
        // index still never decreases as the logit falls, which is all the exact result relies on
        double perWidth = width > 0 ? 1 / width : 0;
        int[] bucket = s.bucket;
        if (keep >= v) {
            topPOnly(p, logits, off, v, topP, s, hi, perWidth, all);
            return;
        }
        int[] count = s.count;
        Arrays.fill(count, 0);
        for (int j = 0; j < v; j++) {
            int b = (int) Math.min(BUCKETS - 1, (hi - (double) logits[off + j]) * perWidth);
            bucket[j] = b;
            count[b]++;
        }
        boolean[] top = s.top;
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
            int n = sortedBucket(kb, bucket, logits, off, v, null, s);
            for (int k = 0; k < keep - before; k++) {
                top[(int) s.keys[k]] = true;
            }
            total = 0;
            for (int j = 0; j < v; j++) {
                if (top[j]) {
                    total += p[j];
                }
            }
        } else {
            Arrays.fill(top, 0, v, true);
        }
        if (topP < 1) {
            double[] mass = s.mass;
            Arrays.fill(mass, 0);
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
                int n = sortedBucket(pb, bucket, logits, off, v, top, s);
                for (int j = 0; j < v; j++) {
                    top[j] = top[j] && bucket[j] < pb;
                }
                long[] sorted = s.keys;
                for (int k = 0; k < n; k++) {
                    int j = (int) sorted[k];
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

    /**
     * {@link #keepNucleus} without top-k (the usual case): the same buckets, masses and cut, in fewer
     * passes and without the per-token flags, since every token is eligible. Masses are summed per
     * bucket in the bucketing pass itself, in id order as before, so each sum and the cut are the same.
     */
    private static void topPOnly(double[] p, float[] logits, int off, int v, double topP, Scratch s, float hi,
            double perWidth, double total) {
        if (topP >= 1) {
            return;
        }
        int[] bucket = s.bucket;
        double[] mass = s.mass;
        Arrays.fill(mass, 0);
        for (int j = 0; j < v; j++) {
            int b = (int) Math.min(BUCKETS - 1, (hi - (double) logits[off + j]) * perWidth);
            bucket[j] = b;
            mass[b] += p[j];
        }
        double cum = 0;
        int pb = 0;
        while (pb < BUCKETS && cum + mass[pb] / total < topP) {
            cum += mass[pb++] / total;
        }
        if (pb == BUCKETS) {
            return;
        }
        // the nucleus ends inside bucket pb: its best tokens up to the mass reached stay, the rest of
        // it and every later bucket go
        int n = sortedBucket(pb, bucket, logits, off, v, null, s);
        long[] sorted = s.keys;
        int k = 0;
        while (k < n) {
            int j = (int) sorted[k++];
            cum += p[j] / total;
            if (cum >= topP) {
                break;
            }
        }
        for (; k < n; k++) {
            p[(int) sorted[k]] = 0;
        }
        for (int j = 0; j < v; j++) {
            if (bucket[j] > pb) {
                p[j] = 0;
            }
        }
    }

    /**
     * Sorts into {@code s.keys[0, n)} the keys of bucket {@code b}'s tokens (logit descending, then id);
     * only the {@code eligible} ones unless null. Returns n.
     */
    private static int sortedBucket(int b, int[] bucket, float[] logits, int off, int v, boolean[] eligible,
            Scratch s) {
        int n = 0;
        long[] keys = s.keys;
        for (int j = 0; j < v; j++) {
            if (bucket[j] == b && (eligible == null || eligible[j])) {
                if (n == keys.length) {
                    keys = Arrays.copyOf(keys, 2 * n);
                    s.keys = keys; // kept for the next rows: a bucket rarely holds more than a few dozen
                }
                keys[n++] = descendingKey(logits[off + j], j);
            }
        }
        Arrays.sort(keys, 0, n);
        return n;
    }

    /** A key that sorts ascending as the logit descending, then the id ascending (id in the low 32 bits). */
    private static long descendingKey(float logit, int id) {
        int bits = Float.floatToIntBits(-logit);
        int ordered = bits ^ ((bits >> 31) & 0x7fffffff); // signed order of the float
        return ((long) ordered << 32) | id;
    }

    /** Samples from softmax(logits / T) restricted by top-k, then top-p. */
    static int sample(float[] logits, SamplingConfig cfg, SplittableRandom rng) {
        return sample(logits, 0, logits.length, cfg, rng, new Scratch(logits.length));
    }

    /** As above for the row of {@code v} logits at {@code off} (read in place), with the buffers of {@code s}. */
    static int sample(float[] logits, int off, int v, SamplingConfig cfg, SplittableRandom rng, Scratch s) {
        float maxf = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < v; j++) {
            maxf = Math.max(maxf, logits[off + j]);
        }
        double max = maxf;
        double[] p = s.p;
        double temperature = cfg.temperature();
        // exp is computed for every token and the cut-off below e^-87 applied after it, a select
        // rather than a branch around a call: the JIT then keeps the loop tight (~5 ns a token instead
        // of ~24 with the exp under the branch). The cut-off still compares the double x, as before.
        if (temperature == 1) {
            // x / 1 == x, so the division (tens of cycles a token, not pipelined) is skipped without
            // changing a bit; and the float difference equals the double one rounded to float (double
            // rounding is harmless for a subtraction when 53 >= 2 * 24 + 2 bits), so exp's input is unchanged
            for (int j = 0; j < v; j++) {
                float l = logits[off + j];
                float e = FastMath.exp(l - maxf);
                p[j] = l - max < -87 ? 0 : e;
            }
        } else {
            for (int j = 0; j < v; j++) {
                double x = (logits[off + j] - max) / temperature;
                float e = FastMath.exp((float) x);
                p[j] = x < -87 ? 0 : e;
            }
        }
        boolean filter = (cfg.topK() > 0 && cfg.topK() < v) || cfg.topP() < 1;
        if (filter) {
            keepNucleus(p, logits, off, v, cfg.topK() > 0 ? Math.min(cfg.topK(), v) : v, cfg.topP(), s);
        }
        double total = 0;
        for (int j = 0; j < v; j++) {
            total += p[j];
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
