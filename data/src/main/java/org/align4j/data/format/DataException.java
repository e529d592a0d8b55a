package org.align4j.data.format;

import java.io.IOException;
import java.util.List;

/** Bad data refused before training: the message lists the problems as {@code FILE:LINE:} lines. */
public final class DataException extends IOException {

    private final List<Problem> problems;

    public DataException(String summary, List<Problem> problems) {
        super(summary + describe(problems));
        this.problems = List.copyOf(problems);
    }

    public List<Problem> problems() {
        return problems;
    }

    private static String describe(List<Problem> problems) {
        StringBuilder sb = new StringBuilder();
        int shown = Math.min(20, problems.size());
        for (int i = 0; i < shown; i++) {
            sb.append('\n').append(problems.get(i));
        }
        if (problems.size() > shown) {
            sb.append("\n... and ").append(problems.size() - shown).append(" more");
        }
        return sb.toString();
    }
}
