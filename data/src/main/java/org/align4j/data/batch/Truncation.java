package org.align4j.data.batch;

import org.align4j.core.util.UserInputException;
import java.util.Locale;

/** What to cut from a sequence longer than the model's context. */
public enum Truncation {
    /** Keep the beginning (cut the end). */
    RIGHT,
    /** Keep the end (cut the beginning of the prompt), so that completions survive. */
    LEFT;

    /** As users type it (help, messages, config files). */
        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** Where the {@code keep} tokens kept of a sequence of {@code length} start. */
        public int start(int length, int keep) {
            return this == LEFT ? Math.max(0, length - keep) : 0;
        }

        public static Truncation parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new UserInputException("unknown truncation '" + s + "' (right, left)");
        }
    }
}
