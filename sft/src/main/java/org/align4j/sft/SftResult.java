package org.align4j.sft;

import org.align4j.core.run.RunDirectory;

/** How an SFT run ended. */
public record SftResult(RunDirectory.Status status, long steps, double lastLoss, double bestValLoss, String message) {
}
