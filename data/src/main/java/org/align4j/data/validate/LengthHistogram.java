package org.align4j.data.validate;

/** Exact order statistics of non-negative integer lengths in memory proportional to the largest length. */
final class LengthHistogram {

    private long[] counts = new long[1024];
    private long n;
    private long sum;
    private int max = -1;
    private int min = Integer.MAX_VALUE;

    void add(int length) {
        if (length >= counts.length) {
            counts = java.util.Arrays.copyOf(counts, Math.max(counts.length * 2, length + 1));
        }
        counts[length]++;
        n++;
        sum += length;
        max = Math.max(max, length);
        min = Math.min(min, length);
    }

    long count() {
        return n;
    }

    int min() {
        return n == 0 ? 0 : min;
    }

    int max() {
        return Math.max(0, max);
    }

    double mean() {
        return n == 0 ? 0 : (double) sum / n;
    }

    /** The smallest length with at least {@code q} of the values at or below it (nearest rank). */
    int quantile(double q) {
        if (n == 0) {
            return 0;
        }
        long rank = (long) Math.ceil(q * n);
        long seen = 0;
        for (int len = 0; len <= max; len++) {
            seen += counts[len];
            if (seen >= Math.max(1, rank)) {
                return len;
            }
        }
        return max;
    }

    long countAbove(int limit) {
        long c = 0;
        for (int len = limit + 1; len <= max; len++) {
            c += counts[len];
        }
        return c;
    }
}
