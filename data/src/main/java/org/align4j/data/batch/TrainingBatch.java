package org.align4j.data.batch;

import org.align4j.core.model.TokenBatch;

/**
 * Inputs and next-token targets of a batch. {@code lossMask[i]} is 1 where target {@code i} is
 * trained; {@code weights} is the mask divided by the number of trained targets (the loss is
 * then the mean over trained tokens). {@code truncated} counts the examples that were cut.
 */
public record TrainingBatch(TokenBatch inputs, int[] targets, float[] lossMask, float[] weights, int trainedTokens,
                            int truncated) {
}
