package org.align4j.reward.grader;

/** A grader could not score one sample; the sample scores 0 and the message is logged with it. */
public final class GraderException extends Exception {

    public GraderException(String message) {
        super(message);
    }
}
