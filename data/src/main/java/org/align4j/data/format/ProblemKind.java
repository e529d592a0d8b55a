package org.align4j.data.format;

import java.util.Locale;

/**
 * What can be wrong with a record. The first eight are the checks of OpenAI's chat fine-tuning
 * data checker, under its names; the rest cover align4j's other formats.
 */
public enum ProblemKind {
    NOT_JSON,
    /** A line whose bytes are not UTF-8 (JSON Lines are UTF-8). */
    NOT_UTF8,
    /** OpenAI: data_type. */
    NOT_AN_OBJECT,
    MISSING_MESSAGES_LIST,
    MESSAGE_MISSING_KEY,
    MESSAGE_UNRECOGNIZED_KEY,
    UNRECOGNIZED_ROLE,
    MISSING_CONTENT,
    EXAMPLE_MISSING_ASSISTANT_MESSAGE,
    UNRECOGNIZED_KEY,
    MISSING_FIELD,
    WRONG_TYPE,
    EMPTY_TEXT,
    EMPTY_PROMPT,
    EMPTY_COMPLETION,
    CHOSEN_EQUALS_REJECTED,
    NO_SHARED_PROMPT,
    BAD_MARGIN,
    TOO_FEW_RESPONSES,
    RANKING_NOT_A_PERMUTATION,
    UNKNOWN_FORMAT,
    /** The file holds no record (empty or blank lines only): training would refuse it. */
    NO_RECORDS;

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
