package org.align4j.reward.grader;

import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * align4j's {@code regex} (and {@code --reward-fn regex:P}): 1 when the input contains a match of
 * the pattern, else 0. A pattern that backtracks catastrophically on some response fails that
 * sample after {@link #TIME_LIMIT_NANOS} instead of hanging the run.
 */
public record RegexGrader(String name, Template input, Pattern pattern) implements Grader {

    static final long TIME_LIMIT_NANOS = 2_000_000_000L;

    /** The text as the matcher reads it, refusing to be read past a deadline (java.util.regex cannot be interrupted). */
    private record Deadline(CharSequence text, long until) implements CharSequence {
        @Override
        public char charAt(int index) {
            if (System.nanoTime() > until) {
                throw new IllegalStateException("deadline");
            }
            return text.charAt(index);
        }

        @Override
        public int length() {
            return text.length();
        }

        @Override
        public CharSequence subSequence(int start, int end) {
            return new Deadline(text.subSequence(start, end), until);
        }

        @Override
        public String toString() {
            return text.toString();
        }
    }

    @Override
    public double grade(GraderInput in) throws GraderException {
        String text = input.render(in);
        try {
            return pattern.matcher(new Deadline(text, System.nanoTime() + TIME_LIMIT_NANOS)).find() ? 1 : 0;
        } catch (IllegalStateException e) {
            throw new GraderException("regex '" + name + "': /" + pattern + "/ ran over " + TIME_LIMIT_NANOS / 1_000_000_000
                    + " s on a response of " + text.length() + " characters (catastrophic backtracking?)");
        }
    }

    @Override
    public String checkItem(JsonNode item) {
        return input.missing(item);
    }

    @Override
    public String describe() {
        return "1 when " + (input == Template.OUTPUT_TEXT ? "the response" : input) + " contains a match of /"
                + pattern + "/, else 0";
    }
}
