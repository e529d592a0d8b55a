package org.align4j.data.format;

/** One problem of one record: where, what kind, and a message that names the field. */
public record Problem(String file, long line, ProblemKind kind, String message) {

    /** Compiler style: {@code FILE:LINE: kind: message}. */
    @Override
    public String toString() {
        return file + ":" + line + ": " + kind.id() + ": " + message;
    }
}
