package org.align4j.cli;

import org.align4j.core.util.UserInputException;

/** A problem with the user's input: printed as one line, exit code 1. */
public final class UserError extends UserInputException {
    public UserError(String message) {
        super(message);
    }
}
