package org.align4j.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

/** The comparison's text statistics, intervals and pass@k against hand-computed values. */
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

    @Test
    void passAtKIsChenEtAlsUnbiasedEstimator() {
        // 1 - C(n-c, k) / C(n, k), the binomials worked by hand
        assertEquals(0.25, PolicyComparison.passAtK(8, 2, 1), 1e-15);             // c / n
        assertEquals(1 - 21.0 / 45, PolicyComparison.passAtK(10, 3, 2), 1e-15);   // C(7,2)=21, C(10,2)=45
        assertEquals(1 - 6435.0 / 12870, PolicyComparison.passAtK(16, 1, 8), 1e-15); // C(15,8), C(16,8): 0.5
        assertEquals(1 - 1.0 / 70, PolicyComparison.passAtK(8, 4, 4), 1e-15);    // C(4,4)=1, C(8,4)=70
        assertEquals(1 - 126.0 / 495, PolicyComparison.passAtK(12, 3, 4), 1e-15); // C(9,4)=126, C(12,4)=495
        assertEquals(0, PolicyComparison.passAtK(8, 0, 8), 0);                    // nothing correct
        assertEquals(1, PolicyComparison.passAtK(8, 1, 8), 0);                    // k = n: any correct
        assertEquals(1, PolicyComparison.passAtK(8, 5, 4), 0);                    // n - c < k: a pass is certain
        assertThrows(IllegalArgumentException.class, () -> PolicyComparison.passAtK(4, 1, 5));
    }

    @Test
    void bootstrapIntervalOfAProportionMatchesTheNormalOneAtLargeN() {
        // 400 prompts, 120 passing: the normal interval 0.3 +- 1.96 sqrt(0.3 * 0.7 / 400) = +- 0.0449
        double[] a = new double[400];
        for (int i = 0; i < 120; i++) {
            a[i * 3] = 1;
        }
        double[] ci = PolicyComparison.bootstrapMeanInterval(a, PolicyComparison.BOOTSTRAP_RESAMPLES, 1);
        double half = 1.96 * Math.sqrt(0.3 * 0.7 / 400);
        assertEquals(0.3 - half, ci[0], 0.008);
        assertEquals(0.3 + half, ci[1], 0.008);
        // a constant has no spread; the same seed gives the same interval
        double[] c = PolicyComparison.bootstrapMeanInterval(new double[] {0.5, 0.5, 0.5}, 100, 3);
        assertEquals(0.5, c[0], 0);
        assertEquals(0.5, c[1], 0);
        double[] again = PolicyComparison.bootstrapMeanInterval(a, PolicyComparison.BOOTSTRAP_RESAMPLES, 1);
        assertEquals(ci[0], again[0], 0);
        assertTrue(ci[1] - ci[0] > 0.05);
    }
}
