package org.align4j.reward.grader;

import java.util.Locale;
import java.util.function.ToDoubleBiFunction;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.train.eval.TextMetrics;

/** OpenAI's {@code text_similarity}: a similarity in [0, 1] of the rendered input to the reference, on the shared {@link TextMetrics}. */
public record TextSimilarityGrader(String name, Template input, Template reference, Metric metric) implements Grader {

    /** OpenAI's metric names; cosine needs an embeddings model and is refused when the grader is read. */
    public enum Metric {
        FUZZY_MATCH(TextMetrics::fuzzyRatio),
        BLEU(TextMetrics::sentenceBleu),
        GLEU(TextMetrics::gleu),
        METEOR(TextMetrics::meteor),
        ROUGE_1((p, r) -> TextMetrics.rougeN(p, r, 1)),
        ROUGE_2((p, r) -> TextMetrics.rougeN(p, r, 2)),
        ROUGE_3((p, r) -> TextMetrics.rougeN(p, r, 3)),
        ROUGE_4((p, r) -> TextMetrics.rougeN(p, r, 4)),
        ROUGE_5((p, r) -> TextMetrics.rougeN(p, r, 5)),
        ROUGE_L(TextMetrics::rougeL);

        private final ToDoubleBiFunction<String, String> fn;

        Metric(ToDoubleBiFunction<String, String> fn) {
            this.fn = fn;
        }

        public double score(String prediction, String reference) {
            return fn.applyAsDouble(prediction, reference);
        }

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    @Override
    public double grade(GraderInput in) throws GraderException {
        return metric.score(input.render(in), reference.render(in));
    }

    @Override
    public String checkItem(JsonNode item) {
        return Template.firstMissing(item, input, reference);
    }

    @Override
    public String describe() {
        return "text_similarity: " + metric + " of " + input + " against " + reference;
    }
}
