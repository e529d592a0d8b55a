package org.align4j.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;

import org.junit.jupiter.api.Test;

/** The comparison's text statistics and interval against hand-computed values. */
class PolicyComparisonTest {

    @Test
    void distinctBigramsRepetitionAndInterval() {
        // "a b a b" has bigrams ab, ba, ab; "c d" has cd: 3 distinct of 4
        assertEquals(0.75, PolicyComparison.distinct2(List.of("a b a b", "c d")), 1e-15);
        // only the first repeats a trigram (x y z twice)
        assertEquals(0.5, PolicyComparison.repetitionRate(List.of("x y z x y z", "x y z w")), 1e-15);
        // values 1, 2, 3, 4: sample sd sqrt(5/3), half-width 1.96 * sd / 2
        assertEquals(1.96 * Math.sqrt(5.0 / 3) / 2, PolicyComparison.ci95(new double[] {1, 2, 3, 4}), 1e-12);
        assertEquals(List.of("don't", "stop", "2"), PolicyComparison.words("Don't stop, 2!"));
    }
}
