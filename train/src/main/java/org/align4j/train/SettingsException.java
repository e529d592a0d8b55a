package org.align4j.train;

import java.util.List;

import org.align4j.core.util.UserInputException;

/** Settings that cannot run, reported all at once, each naming its option; a user error. */
public final class SettingsException extends UserInputException {

    private final List<String> problems;

    public SettingsException(List<String> problems) {
        super(problems.size() == 1 ? problems.get(0) : "invalid settings:\n  " + String.join("\n  ", problems));
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
        return problems;
    }
}
