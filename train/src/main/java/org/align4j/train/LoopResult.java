package org.align4j.train;

import java.util.Map;

import org.align4j.core.run.RunDirectory;

/** How a run ended: its status, the last step, the last step's metrics, the best validation value. */
public record LoopResult(RunDirectory.Status status, long step, Map<String, Double> lastMetrics, Double best,
                         String message) {

    public double loss() {
        return lastMetrics.getOrDefault("loss", Double.NaN);
    }
}
