package org.align4j.data.batch;

/**
 * A tokenized training sequence and, per token, whether it is trained (predicted with loss):
 * completion tokens for prompt-completion, assistant tokens for chat, all tokens for text.
 */
public record Example(int[] ids, boolean[] trained) {

    public Example {
        if (ids.length != trained.length) {
            throw new IllegalArgumentException("ids and trained flags differ in length");
        }
    }

    public int length() {
        return ids.length;
    }

    public int trainedCount() {
        int n = 0;
        for (boolean t : trained) {
            n += t ? 1 : 0;
        }
        return n;
    }
}
