package org.align4j.serve.jobs;

import java.util.Set;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A fine-tuning job as the database holds it. {@code spec} is what was asked and resolved at
 * creation (model, files, method with every hyperparameter resolved, the stage's settings);
 * {@code stopRequest} is {@code cancel} or {@code pause} while such a request waits for the running
 * stage to checkpoint and stop; {@code extension} is align4j's own part of the job object.
 */
public record Job(String id, long createdAt, String status, ObjectNode spec, String fineTunedModel, Long finishedAt,
                  Long trainedTokens, ObjectNode error, Long estimatedFinish, String stopRequest, long mirroredStep,
                  long mirroredRunEvents, ObjectNode extension) {

    public static final String VALIDATING = "validating_files";
    public static final String QUEUED = "queued";
    public static final String RUNNING = "running";
    public static final String SUCCEEDED = "succeeded";
    public static final String FAILED = "failed";
    public static final String CANCELLED = "cancelled";
    public static final String PAUSED = "paused";

    /** Statuses no action changes any more. */
    public static final Set<String> FINISHED = Set.of(SUCCEEDED, FAILED, CANCELLED);

    public boolean finished() {
        return FINISHED.contains(status);
    }

    public String method() {
        return spec.path("method").path("type").asText();
    }
}
