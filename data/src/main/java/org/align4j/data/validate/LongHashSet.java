package org.align4j.data.validate;

import java.util.Arrays;

/** Set of 64-bit hashes in open addressing (16 bytes per entry), for duplicate counting in bounded memory. */
final class LongHashSet {

    private long[] table = new long[1 << 12];
    private boolean hasZero;
    private int size;

    /** Adds a value; returns false if it was present. */
    boolean add(long v) {
        if (v == 0) {
            boolean had = hasZero;
            hasZero = true;
            return !had;
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
