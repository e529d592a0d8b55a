package org.align4j.train;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Where training stands, saved with every checkpoint as {@code trainer_state.json}: steps taken,
 * the data position (epoch and the next batch in it), the best validation value so far and how
 * many evaluations have not improved on it, the seed, and the stage's own state.
 */
public record LoopState(long step, int epoch, int batchInEpoch, Double bestMetric, int evalsWithoutImprovement,
                        long seed, JsonNode stage) {
}
