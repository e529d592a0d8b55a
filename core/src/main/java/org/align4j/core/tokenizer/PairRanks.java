package org.align4j.core.tokenizer;

import java.util.Arrays;

/** Open-addressing map from a token-id pair to its merge rank; the BPE inner loop's only lookup. */
final class PairRanks {

    private long[] keys;
    private int[] values;
    private int size;
    private int mask;

    PairRanks(int expected) {
        int cap = Integer.highestOneBit(Math.max(16, expected * 2 - 1)) << 1;
        keys = new long[cap];
        values = new int[cap];
        Arrays.fill(keys, -1L);
        mask = cap - 1;
    }

    static long key(int a, int b) {
        return ((long) a << 32) | (b & 0xffffffffL);
    }

    private static int hash(long k) {
        long h = k * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 29));
    }

    /** Stores {@code rank} for the pair unless the pair already has a rank; returns false if it had. */
    boolean putIfAbsent(int a, int b, int rank) {
        if (size * 2 >= keys.length) {
            grow();
        }
        long k = key(a, b);
        int i = hash(k) & mask;
        while (keys[i] != -1L) {
            if (keys[i] == k) {
                return false;
            }
            i = (i + 1) & mask;
        }
        keys[i] = k;
        values[i] = rank;
        size++;
        return true;
    }

    /** Rank of the pair, or -1. */
    int get(int a, int b) {
        long k = key(a, b);
        int i = hash(k) & mask;
        while (true) {
            long cur = keys[i];
            if (cur == k) {
                return values[i];
            }
            if (cur == -1L) {
                return -1;
            }
            i = (i + 1) & mask;
        }
    }

    private void grow() {
        long[] oldK = keys;
        int[] oldV = values;
        keys = new long[oldK.length * 2];
        values = new int[oldK.length * 2];
        Arrays.fill(keys, -1L);
        mask = keys.length - 1;
        size = 0;
        for (int i = 0; i < oldK.length; i++) {
            if (oldK[i] != -1L) {
                putIfAbsent((int) (oldK[i] >>> 32), (int) oldK[i], oldV[i]);
            }
        }
    }
}
