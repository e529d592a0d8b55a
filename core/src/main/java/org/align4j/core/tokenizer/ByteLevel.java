package org.align4j.core.tokenizer;

/**
 * GPT-2's reversible map from the 256 byte values to printable Unicode characters, so that
 * byte-level tokens can be stored as strings in {@code vocab.json} and {@code tokenizer.json}.
 */
public final class ByteLevel {

    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final int[] CHAR_TO_BYTE = new int[512];
    /** Byte values in GPT-2's order ('!'..'~', '¡'..'¬', '®'..'ÿ', then the rest): ids 0..255 of its vocabulary. */
    private static final int[] ORDER = new int[256];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        int k = 0;
        boolean[] printable = new boolean[256];
        for (int b = 0; b < 256; b++) {
            printable[b] = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        }
        for (int b = 0; b < 256; b++) {
            if (printable[b]) {
                BYTE_TO_CHAR[b] = (char) b;
                ORDER[k++] = b;
            }
        }
        int n = 0;
        for (int b = 0; b < 256; b++) {
            if (!printable[b]) {
                BYTE_TO_CHAR[b] = (char) (256 + n++);
                ORDER[k++] = b;
            }
        }
        for (int b = 0; b < 256; b++) {
            CHAR_TO_BYTE[BYTE_TO_CHAR[b]] = b;
        }
    }

    private ByteLevel() {
    }

    public static char charOf(int b) {
        return BYTE_TO_CHAR[b & 0xff];
    }

    /** The byte a character stands for, or -1 if it is not in the byte-level alphabet. */
    public static int byteOf(char c) {
        return c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
    }

    /** Byte value of base token {@code i} (0..255) in GPT-2's order. */
    public static int byteAtRank(int i) {
        return ORDER[i];
    }

    public static String encode(byte[] bytes) {
        char[] out = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            out[i] = BYTE_TO_CHAR[bytes[i] & 0xff];
        }
        return new String(out);
    }

    /** The bytes a byte-level string stands for, or null if it has a character outside the alphabet. */
    public static byte[] decode(String s) {
        byte[] out = new byte[s.length()];
        for (int i = 0; i < s.length(); i++) {
            int b = byteOf(s.charAt(i));
            if (b < 0) {
                return null;
            }
            out[i] = (byte) b;
        }
        return out;
    }
}
