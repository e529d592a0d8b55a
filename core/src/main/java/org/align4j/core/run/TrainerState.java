package org.align4j.core.run;

/**
 * Where training stands, saved with every checkpoint so that a resumed run continues exactly:
 * optimizer steps taken, the data position (epoch and the next batch in it), the best
 * validation loss so far and how many evaluations have not improved on it.
 */
public record TrainerState(long step, int epoch, int batchInEpoch, double bestValLoss, int evalsWithoutImprovement,
                           long seed) {
}
