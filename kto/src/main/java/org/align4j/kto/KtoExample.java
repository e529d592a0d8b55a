package org.align4j.kto;

import org.align4j.data.batch.Example;

/**
 * An unpaired example ready for training: its prompt and completion (prompt masked), the KL
 * sequence (the same prompt with another example's completion, for the KL estimate), whether the
 * completion is desirable, and its source line.
 */
public record KtoExample(Example completion, Example kl, boolean desirable, long line) {
}
