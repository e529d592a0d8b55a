package org.align4j.train;

import java.io.IOException;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Scores responses to prompts: the seam through which a stage that samples its own data (online
 * DPO) asks which of its samples is better, without depending on the stage that owns the scorer
 * (a reward model, or a grader, both in {@code reward}). The command line wires one in.
 */
public interface Judge {

    /**
     * One response: the prompt's whole record (a grader's {@code {{item.FIELD}}} reads it), the
     * prompt's token ids as the policy saw them, the response's ids without its stop token, and
     * the response's text.
     */
    record Response(JsonNode item, int[] promptIds, int[] responseIds, String text) {
    }

    /** A response's score, and why it is 0 when the judge failed on it (null when it did not). */
    record Score(double value, String error) {
    }

    /** Makes the judge once the run starts (a reward model is loaded then, not while options are checked). */
    interface Loader {
        Judge load() throws IOException;
    }

    /** What it is, for the log. */
    String describe();

    /** The field of a prompt record this judge reads and the record lacks ({@code {{item.answer}}}), or null. */
    default String lacks(JsonNode item) {
        return null;
    }

    /** The score of each response, in order; deterministic for the same responses. */
    List<Score> score(List<Response> responses);
}
