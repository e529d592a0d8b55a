package org.align4j.core.model;

import java.util.Arrays;

/**
 * A batch of B sequences of length T, flattened row-major: token ids, position ids, and the
 * key mask (1 real token, 0 padding; null when nothing is padded).
 *
 * <p>Right padding (training) keeps positions 0..n-1 for the real tokens; left padding
 * (generation) gives the first real token position 0, as Hugging Face does with
 * {@code position_ids = cumsum(mask) - 1}.
 */
public record TokenBatch(int batch, int time, int[] tokens, int[] positions, float[] keyMask) {

    public TokenBatch {
        if (tokens.length != batch * time || positions.length != batch * time
                || (keyMask != null && keyMask.length != batch * time)) {
            throw new IllegalArgumentException("TokenBatch arrays must have batch*time = " + batch * time + " entries");
        }
    }

    /** Equal-length sequences, no padding. */
    public static TokenBatch of(int[][] sequences) {
        int b = sequences.length;
        int t = sequences[0].length;
        int[] tokens = new int[b * t];
        int[] positions = new int[b * t];
        for (int i = 0; i < b; i++) {
            if (sequences[i].length != t) {
                throw new IllegalArgumentException("sequences differ in length; use rightPadded or leftPadded");
            }
            System.arraycopy(sequences[i], 0, tokens, i * t, t);
            for (int j = 0; j < t; j++) {
                positions[i * t + j] = j;
            }
        }
        return new TokenBatch(b, t, tokens, positions, null);
    }

    /** Sequences padded on the right with {@code pad} to the longest. */
    public static TokenBatch rightPadded(int[][] sequences, int pad) {
        return padded(sequences, pad, false);
    }

    /** Sequences padded on the left with {@code pad}; real tokens get positions from 0. */
    public static TokenBatch leftPadded(int[][] sequences, int pad) {
        return padded(sequences, pad, true);
    }

    private static TokenBatch padded(int[][] sequences, int pad, boolean left) {
        int b = sequences.length;
        int t = Arrays.stream(sequences).mapToInt(s -> s.length).max().orElse(0);
        int[] tokens = new int[b * t];
        int[] positions = new int[b * t];
        float[] mask = new float[b * t];
        for (int i = 0; i < b; i++) {
            int offset = left ? t - sequences[i].length : 0;
            for (int j = 0; j < t; j++) {
                int k = j - offset;
                boolean real = k >= 0 && k < sequences[i].length;
                tokens[i * t + j] = real ? sequences[i][k] : pad;
                positions[i * t + j] = real ? k : 0;
                mask[i * t + j] = real ? 1f : 0f;
            }
        }
        return new TokenBatch(b, t, tokens, positions, mask);
    }

    public int rows() {
        return batch * time;
    }
}
