package org.align4j.train.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.nd4j.evaluation.EvaluationAveraging;
import org.nd4j.evaluation.classification.Evaluation;

/** BLEU, ROUGE-L and token F1 against values computed by hand; classification against ND4J's Evaluation. */
class MetricsTest {

    @Test
    void bleuOfSmallCasesComputedByHand() {
        // identical sentences: every precision 1, no brevity penalty
        assertEquals(1.0, TextMetrics.corpusBleu(List.of("the cat sat on the mat"), List.of("the cat sat on the mat")),
                1e-12);
        // "the cat sat on a mat" vs "the cat sat on the mat":
        // 1-grams 5/6, 2-grams 3/5, 3-grams 2/4, 4-grams 1/3, same length so BP = 1
        double expected = Math.exp((Math.log(5.0 / 6) + Math.log(3.0 / 5) + Math.log(2.0 / 4) + Math.log(1.0 / 3)) / 4);
        assertEquals(expected, TextMetrics.corpusBleu(List.of("the cat sat on a mat"),
                List.of("the cat sat on the mat")), 1e-12);
        // shorter candidate "the cat sat on the": precisions 1, BP = exp(1 - 6/5)
        assertEquals(Math.exp(1 - 6.0 / 5), TextMetrics.corpusBleu(List.of("the cat sat on the"),
                List.of("the cat sat on the mat")), 1e-12);
        // clipping: "the the the the" against "the cat": 1-gram precision 1/4, no 4-gram match -> 0
        assertEquals(0.0, TextMetrics.corpusBleu(List.of("the the the the"), List.of("the cat")), 0.0);
        // corpus pooling: counts add over sentences before the ratios are taken
        double pooled = Math.exp((Math.log(9.0 / 10) + Math.log(7.0 / 8) + Math.log(5.0 / 6) + Math.log(3.0 / 4)) / 4);
        assertEquals(pooled, TextMetrics.corpusBleu(List.of("a b c d e", "f g h i x"),
                List.of("a b c d e", "f g h i j")), 1e-12);
    }

    @Test
    void rougeLAndTokenF1ComputedByHand() {
        // LCS("the cat was found under the bed", "the cat was under the bed") = 6
        double p = 6.0 / 7;
        double r = 6.0 / 6;
        assertEquals(2 * p * r / (p + r), TextMetrics.rougeL("the cat was found under the bed",
                "the cat was under the bed"), 1e-12);
        // LCS of "a b c d" and "b d a" is 2 ("b d")
        assertEquals(2 * 0.5 * (2.0 / 3) / (0.5 + 2.0 / 3), TextMetrics.rougeL("a b c d", "b d a"), 1e-12);
        assertEquals(0.0, TextMetrics.rougeL("x", "y"), 0.0);
        // SQuAD F1: "The Big Cat!" vs "a big dog" -> tokens [big, cat] vs [big, dog]: P = R = 1/2
        assertEquals(0.5, TextMetrics.tokenF1("The Big Cat!", "a big dog"), 1e-12);
        assertEquals(1.0, TextMetrics.tokenF1("(like)", "(like)"), 0.0);
        assertTrue(TextMetrics.exactMatch(" 4", "4 "));
    }

    @Test
    void classificationAgreesWithNd4jEvaluation() {
        List<String> refs = List.of("1", "2", "3", "4", "5", "5", "4", "3", "2", "1", "5", "5");
        List<String> preds = List.of("1", "3", "3", "5", "5", "4", "4", "2", "2", "2", "5", "1");
        ClassificationMetrics m = ClassificationMetrics.of(preds, refs);
        Evaluation ev = new Evaluation(5);
        for (int i = 0; i < refs.size(); i++) {
            ev.eval(Integer.parseInt(preds.get(i)) - 1, Integer.parseInt(refs.get(i)) - 1); // (predicted, actual)
        }
        assertEquals(ev.accuracy(), m.accuracy(), 1e-12);
        assertEquals(ev.f1(EvaluationAveraging.Macro), m.macroF1(), 1e-12);
        for (int a = 0; a < 5; a++) {
            for (int p = 0; p < 5; p++) {
                assertEquals(ev.getConfusionMatrix().getCount(a, p), m.confusion()[a][p]);
            }
        }
        // ordinal: only the last case (5 predicted as 1) is off by more than one, and it is also the
        // only one on the wrong side of 3: 11 of 12 for both
        assertEquals(11.0 / 12, m.offByOneAccuracy(), 1e-12);
        assertEquals(11.0 / 12, m.binaryAccuracy(), 1e-12);
        ClassificationMetrics words = ClassificationMetrics.of(List.of("yes", "no", "maybe"), List.of("yes", "yes", "no"));
        assertNull(words.offByOneAccuracy());
        assertArrayEquals(new long[] {0, 0, 1}, words.confusion()[0], "'maybe' is outside the labels: other");
        assertTrue(ClassificationMetrics.looksLikeLabels(refs));
        assertTrue(!ClassificationMetrics.looksLikeLabels(List.of("a long answer", "another one")));
    }
}
