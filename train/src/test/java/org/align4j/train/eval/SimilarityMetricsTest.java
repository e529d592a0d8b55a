package org.align4j.train.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * The one-pair similarity metrics the graders use, against published examples (rouge_score's
 * README, NLTK's GLEU doctests, Wikipedia's METEOR example, rapidfuzz's documentation) and values
 * computed by hand.
 */
class SimilarityMetricsTest {

    @Test
    void rougeNAndRougeLOfRougeScoresReadmeExample() {
        // rouge_score README: target "The quick brown fox jumps over the lazy dog", prediction
        // "The quick brown dog jumps on the log.": rouge1 F = 0.7058823529411765, rougeL F = 0.5882352941176471
        String target = "The quick brown fox jumps over the lazy dog";
        String prediction = "The quick brown dog jumps on the log.";
        assertEquals(0.7058823529411765, TextMetrics.rougeN(prediction, target, 1), 1e-15);
        assertEquals(0.5882352941176471, TextMetrics.rougeL(prediction, target), 1e-15);
        // bigrams by hand: 2 shared ("the quick", "quick brown") of 7 and 8
        assertEquals(2 * (2.0 / 7) * (2.0 / 8) / (2.0 / 7 + 2.0 / 8), TextMetrics.rougeN(prediction, target, 2), 1e-15);
        // clipping: "the the the" vs "the cat": one shared unigram, P = 1/3, R = 1/2
        assertEquals(2 * (1.0 / 3) * 0.5 / (1.0 / 3 + 0.5), TextMetrics.rougeN("the the the", "the cat", 1), 1e-15);
        // a sentence shorter than n has no n-grams
        assertEquals(0.0, TextMetrics.rougeN("a b", "a b", 3), 0.0);
        assertEquals(1.0, TextMetrics.rougeN("a b c d e", "A B C D E", 5), 1e-15);
    }

    @Test
    void gleuOfNltksDoctests() {
        String ref1 = "It is a guide to action that ensures that the military will forever heed Party commands";
        String hyp1 = "It is a guide to action which ensures that the military always obeys the commands of the party";
        String hyp2 = "It is to insure the troops forever hearing the activity guidebook that party direct";
        assertEquals(0.4393, TextMetrics.gleu(hyp1, ref1), 1e-4);
        assertEquals(0.1206, TextMetrics.gleu(hyp2, ref1), 1e-4);
        assertEquals(0.0909, TextMetrics.gleu("the the the the the the the", "the cat is on the mat"), 1e-4);
        // by hand: "a b" vs "a c": 1 match of max(3, 3) n-grams
        assertEquals(1.0 / 3, TextMetrics.gleu("a b", "a c"), 1e-15);
    }

    @Test
    void meteorOfWikipediasExamples() {
        String ref = "the cat sat on the mat";
        // all six words in three chunks ("on the mat", "sat", "the cat"): 1 x (1 - 0.5 (3/6)^3) = 0.9375
        assertEquals(0.9375, TextMetrics.meteor("on the mat sat the cat", ref), 1e-12);
        // identical: one chunk, 1 - 0.5 (1/6)^3 = 0.9977
        assertEquals(1 - 0.5 / 216, TextMetrics.meteor("the cat sat on the mat", ref), 1e-12);
        // "the cat was sat on the mat": P = 6/7, R = 1, Fmean = 0.9836, two chunks: 0.9654
        double p = 6.0 / 7;
        double fmean = 10 * p / (1 + 9 * p);
        assertEquals(fmean * (1 - 0.5 / 27), TextMetrics.meteor("the cat was sat on the mat", ref), 1e-12);
        assertEquals(0.9654, TextMetrics.meteor("the cat was sat on the mat", ref), 1e-4);
        assertEquals(0.0, TextMetrics.meteor("dog", ref), 0.0);
    }

    @Test
    void fuzzyRatioAsRapidfuzz() {
        // rapidfuzz documentation: fuzz.ratio("this is a test", "this is a test!") = 96.55
        assertEquals(0.9655, TextMetrics.fuzzyRatio("this is a test", "this is a test!"), 1e-4);
        // by hand: LCS("kitten", "sitting") = "ittn", 2 x 4 / 13
        assertEquals(8.0 / 13, TextMetrics.fuzzyRatio("kitten", "sitting"), 1e-15);
        assertEquals(1.0, TextMetrics.fuzzyRatio("", ""), 0.0);
        assertEquals(0.0, TextMetrics.fuzzyRatio("abc", ""), 0.0);
    }

    @Test
    void sentenceBleuIsTheCorpusOfOne() {
        // "the cat sat on a mat" vs "the cat sat on the mat": 5/6, 3/5, 2/4, 1/3, BP 1
        double expected = Math.exp((Math.log(5.0 / 6) + Math.log(3.0 / 5) + Math.log(2.0 / 4) + Math.log(1.0 / 3)) / 4);
        assertEquals(expected, TextMetrics.sentenceBleu("the cat sat on a mat", "the cat sat on the mat"), 1e-12);
    }
}
