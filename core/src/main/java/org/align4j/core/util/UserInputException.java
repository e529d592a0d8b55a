package org.align4j.core.util;

/**
 * A problem with what the user gave (an option, a data file, a config file, a model directory):
 * the command line prints its message as one line and exits 1. Anything else that escapes a
 * command is a bug in align4j and is shown with its stack trace.
 */
public class UserInputException extends IllegalArgumentException {

    public UserInputException(String message) {
        super(message);
    }
}
