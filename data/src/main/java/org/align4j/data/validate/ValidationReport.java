package org.align4j.data.validate;

import java.util.List;
import java.util.Map;

import org.align4j.data.format.Problem;
import org.align4j.data.format.ProblemKind;
import org.align4j.data.format.RecordKind;

/**
 * What {@code align4j data validate} found. {@code problems} holds the first
 * {@link Validator#KEPT_PROBLEMS} problems (all of them are printed as they are found);
 * {@code problemCounts} counts every one. Token statistics are present when a tokenizer was
 * given; label counts when completions look like labels from a small set. {@code duplicatesExact}
 * is false when there were more distinct records than the duplicate check holds.
 */
public record ValidationReport(List<FileSummary> files, long records, long validRecords, long invalidRecords,
                               Map<RecordKind, Long> recordsByKind, Map<ProblemKind, Long> problemCounts,
                               List<Problem> problems, long duplicates, boolean duplicatesExact, TokenStats tokens,
                               Map<String, Long> labelCounts, int suggestedEpochs) {

    /** One file: the kind it was read as and its record count. */
    public record FileSummary(String file, RecordKind kind, long records, long invalid) {
    }

    /**
     * Token-length statistics, and how many records exceed {@code maxLength} (truncated in training).
     * {@code billedTokens} is what one epoch trains on: each record's tokens up to {@code maxLength}
     * (all of them without one), as OpenAI bills a fine-tuning file.
     */
    public record TokenStats(int min, double mean, int median, int p95, int max, int maxLength, long overMaxLength,
                             long totalTokens, long billedTokens) {
    }

    /**
     * The cost and size estimate of training on these files: billed tokens per epoch times
     * {@code epochs}; null without token statistics (no tokenizer).
     */
    public Long estimatedTrainingTokens(int epochs) {
        return tokens == null ? null : tokens.billedTokens() * (long) epochs;
    }

    public boolean ok() {
        return invalidRecords == 0 && problemCounts.isEmpty();
    }
}
