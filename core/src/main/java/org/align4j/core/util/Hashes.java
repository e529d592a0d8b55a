package org.align4j.core.util;

/** Stable (run-to-run, JVM-to-JVM) 64-bit string hashing, for seeds and duplicate detection. */
public final class Hashes {

    private Hashes() {
    }

    /** FNV-1a over the UTF-16 code units. */
    public static long fnv1a64(String s) {
        long h = 0xcbf29ce484222325L;
        for (int i = 0; i < s.length(); i++) {
            h ^= s.charAt(i);
            h *= 0x100000001b3L;
        }
        return h;
    }
}
