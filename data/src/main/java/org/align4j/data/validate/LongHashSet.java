package org.align4j.data.validate;

import java.util.Arrays;

/**
 * Set of 64-bit hashes in open addressing, for duplicate counting in bounded memory: it holds at
 * most {@link #CAPACITY} values (a 64 MiB table); past that, new values are only looked up.
 */
final class LongHashSet {

    static final int CAPACITY = 1 << 22;
    private static final int MAX_TABLE = 1 << 23;

    private long[] table = new long[1 << 12];
    private boolean hasZero;
    private int size;

    /** Adds a value (while there is room); returns false if it was present. */
    boolean add(long v) {
        if (v == 0) {
            boolean had = hasZero;
            hasZero = true;
            return !had;
        }
        if (full()) {
            return !contains(v);
        }
        if ((size + 1) * 2 > table.length) {
            grow();
        }
        int mask = table.length - 1;
        int i = (int) (mix(v) & mask);
        while (table[i] != 0) {
            if (table[i] == v) {
                return false;
            }
            i = (i + 1) & mask;
        }
        table[i] = v;
        size++;
        return true;
    }

    /** True once the set holds {@link #CAPACITY} values and stops growing. */
    boolean full() {
        return size >= CAPACITY && table.length >= MAX_TABLE;
    }

    private boolean contains(long v) {
        int mask = table.length - 1;
        int i = (int) (mix(v) & mask);
        while (table[i] != 0) {
            if (table[i] == v) {
                return true;
            }
            i = (i + 1) & mask;
        }
        return false;
    }

    private static long mix(long v) {
        v ^= v >>> 33;
        v *= 0xff51afd7ed558ccdL;
        return v ^ (v >>> 33);
    }

    private void grow() {
        long[] old = table;
        table = new long[old.length * 2];
        size = 0;
        for (long v : old) {
            if (v != 0) {
                add(v);
            }
        }
    }

    int size() {
        return size + (hasZero ? 1 : 0);
    }

    void clear() {
        Arrays.fill(table, 0);
        size = 0;
        hasZero = false;
    }
}
