package org.align4j.data.batch;

import java.util.ArrayList;
import java.util.List;

/**
 * Packs short text examples into full sequences for language modelling: the token streams
 * (each ending with its end-of-sequence token) are concatenated and cut into windows of
 * {@code maxLength + 1} tokens that overlap by one, so every token after the first is a target
 * exactly once. Attention crosses document boundaries inside a window, as in GPT-2 and nanoGPT
 * pretraining; the end-of-sequence token tells the model where a document ended.
 */
public final class Packer {

    private Packer() {
    }

    public static List<Example> pack(List<Example> texts, int maxLength) {
        int total = 0;
        for (Example e : texts) {
            total += e.length();
        }
        int[] stream = new int[total];
        int at = 0;
        for (Example e : texts) {
            System.arraycopy(e.ids(), 0, stream, at, e.length());
            at += e.length();
        }
        List<Example> out = new ArrayList<>();
        for (int start = 0; start + 1 < total; start += maxLength) {
            int end = Math.min(total, start + maxLength + 1);
            int[] ids = java.util.Arrays.copyOfRange(stream, start, end);
            boolean[] trained = new boolean[ids.length];
            java.util.Arrays.fill(trained, true);
            out.add(new Example(ids, trained));
        }
        return out;
    }
}
