package org.align4j.train.eval;

import java.util.List;

/**
 * What {@code align4j eval} measured. Generation fields are null without {@code --generate};
 * {@code classification} is null unless references look like labels; {@code patternMatchRate}
 * is null without {@code --answer-pattern}.
 */
public record EvalReport(long examples, double loss, double perplexity, double meanTokenAccuracy,
                         Double exactMatch, Double bleu, Double rougeL, Double tokenF1, Double patternMatchRate,
                         ClassificationMetrics classification, List<Sample> samples, int promptsTruncated) {

    /** One generated answer next to its reference. */
    public record Sample(String prompt, String reference, String prediction) {
    }
}
