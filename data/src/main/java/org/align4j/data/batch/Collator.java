package org.align4j.data.batch;

import java.io.Serializable;
import java.util.List;

import org.align4j.core.loss.LanguageModelLoss;
import org.align4j.core.model.TokenBatch;

/**
 * Examples to a right-padded batch for next-token prediction: inputs are tokens 0..n-2,
 * targets tokens 1..n-1, and a target is trained when its token is. Sequences longer than
 * {@code maxLength + 1} tokens are truncated by the given policy and counted. It travels to Spark
 * executors with work that collates there (a reference pass), so it holds its settings only.
 */
public final class Collator implements Serializable {

    private static final long serialVersionUID = 1L;

    private final int maxLength;
    private final Truncation truncation;
    private final int padId;

    public Collator(int maxLength, Truncation truncation, int padId) {
        if (maxLength < 1) {
            throw new IllegalArgumentException("max length must be at least 1");
        }
        this.maxLength = maxLength;
        this.truncation = truncation;
        this.padId = padId;
    }

    public int maxLength() {
        return maxLength;
    }

    public TrainingBatch collate(List<Example> examples) {
        int b = examples.size();
        int[][] inputs = new int[b][];
        int[][] targets = new int[b][];
        boolean[][] trained = new boolean[b][];
        int truncated = 0;
        int t = 1;
        for (int i = 0; i < b; i++) {
            Example e = examples.get(i);
            int[] ids = e.ids();
            boolean[] tr = e.trained();
            int from = 0;
            int n = ids.length;
            if (n > maxLength + 1) {
                truncated++;
                from = truncation.start(n, maxLength + 1);
                n = maxLength + 1;
            }
            int len = Math.max(0, n - 1);
            inputs[i] = new int[len];
            targets[i] = new int[len];
            trained[i] = new boolean[len];
            for (int j = 0; j < len; j++) {
                inputs[i][j] = ids[from + j];
                targets[i][j] = ids[from + j + 1];
                trained[i][j] = tr[from + j + 1];
            }
            t = Math.max(t, len);
        }
        TokenBatch batch = TokenBatch.rightPadded(padTo(inputs, t), padId);
        int[] flatTargets = new int[b * t];
        float[] mask = new float[b * t];
        int count = 0;
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < targets[i].length; j++) {
                flatTargets[i * t + j] = targets[i][j];
                if (trained[i][j]) {
                    mask[i * t + j] = 1f;
                    count++;
                }
            }
        }
        return new TrainingBatch(batch, flatTargets, mask, LanguageModelLoss.meanWeights(mask), count, truncated);
    }

    /** An empty example still occupies one (padding) position so that the batch has a shape. */
    private static int[][] padTo(int[][] inputs, int t) {
        int[][] out = new int[inputs.length][];
        for (int i = 0; i < inputs.length; i++) {
            out[i] = inputs[i].length == 0 ? new int[] {0} : inputs[i];
        }
        return out;
    }
}
