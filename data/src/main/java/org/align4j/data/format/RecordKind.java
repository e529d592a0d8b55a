package org.align4j.data.format;

import org.align4j.core.util.UserInputException;
import java.util.Locale;

/** The kinds of JSONL record align4j reads; one kind per file. */
public enum RecordKind {
    /** {@code {"text": ...}}: language modelling, every token trained. */
    TEXT,
    /** {@code {"prompt": ..., "completion": ...}}: completion tokens trained. */
    COMPLETION,
    /** {@code {"messages": [...]}}: assistant tokens trained. */
    CHAT,
    /** {@code {"prompt"?, "chosen", "rejected", "margin"?}}: preference pairs (text or messages). */
    PREFERENCE,
    /** {@code {"prompt", "responses": [...], "ranking": [[...], ...]}}: K-way rankings. */
    RANKING,
    /**
     * {@code {"prompt", "completion", "label": true|false}}: one response judged desirable or not
     * (TRL's unpaired preference format, text or messages), for KTO.
     */
    UNPAIRED;

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static RecordKind parse(String s) {
        for (RecordKind k : values()) {
            if (k.id().equalsIgnoreCase(s.trim())) {
                return k;
            }
        }
        throw new UserInputException("unknown format '" + s + "' (text, completion, chat, preference, ranking, unpaired)");
    }
}
