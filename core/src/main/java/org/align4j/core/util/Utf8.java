package org.align4j.core.util;

/** Where UTF-8 goes wrong, for messages that point at the byte. */
public final class Utf8 {

    private Utf8() {
    }

    /**
     * Index of the first byte of {@code bytes[0..n)} that does not start a valid UTF-8 sequence
     * (bad lead byte, missing continuation, overlong form, surrogate, above U+10FFFF), or -1.
     */
    public static int firstInvalid(byte[] bytes, int n) {
        int i = 0;
        while (i < n) {
            int c = bytes[i] & 0xff;
            int len;
            if (c < 0x80) {
                i++;
                continue;
            } else if (c >= 0xC2 && c <= 0xDF) {
                len = 2;
            } else if (c >= 0xE0 && c <= 0xEF) {
                len = 3;
            } else if (c >= 0xF0 && c <= 0xF4) {
                len = 4;
            } else {
                return i;
            }
            if (i + len > n) {
                return i;
            }
            for (int k = 1; k < len; k++) {
                if ((bytes[i + k] & 0xC0) != 0x80) {
                    return i;
                }
            }
            int c1 = bytes[i + 1] & 0xff;
            if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0) || (c == 0xF0 && c1 < 0x90)
                    || (c == 0xF4 && c1 >= 0x90)) {
                return i;
            }
            i += len;
        }
        return -1;
    }
}
