package org.align4j.train;

import java.util.List;

/**
 * A micro-batch of prompts for a stage that samples its own responses (PPO, online DPO): which
 * prompts, weighted by their count, and how many prompt tokens they hold.
 */
public record PromptBatch(int[] indices, long inputTokens) implements Objective.MicroBatch {

    @Override
    public double weight() {
        return indices.length;
    }

    /** The batch of the prompts at {@code examples}. */
    public static PromptBatch of(int[] examples, List<int[]> prompts) {
        long tokens = 0;
        for (int i : examples) {
            tokens += prompts.get(i).length;
        }
        return new PromptBatch(examples, tokens);
    }

    /** Each prompt's length, the loop's view of the training examples. */
    public static int[] lengths(List<int[]> prompts) {
        return prompts.stream().mapToInt(p -> p.length).toArray();
    }
}
