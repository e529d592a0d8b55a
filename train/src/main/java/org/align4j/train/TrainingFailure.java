package org.align4j.train;

/** Training cannot go on (e.g. the loss became NaN); the run is recorded as failed. */
public final class TrainingFailure extends RuntimeException {
    public TrainingFailure(String message) {
        super(message);
    }
}
