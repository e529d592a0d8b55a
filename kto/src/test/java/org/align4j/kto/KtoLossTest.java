package org.align4j.kto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** KTO's loss against hand-computed values, its gradient against finite differences, and TRL's weights rule. */
class KtoLossTest {

    static KtoLoss.Settings kto(double beta, double wd, double wu) {
        return new KtoLoss.Settings(KtoLossType.KTO, beta, wd, wu);
    }

    @Test
    void aPolicyEqualToItsReferenceStartsAtHalfTheWeights() {
        // r = 0 and z0 = 0: each example's loss is its weight times 1 - sigmoid(0) = 1/2
        for (KtoLossType t : KtoLossType.values()) {
            for (double beta : new double[] {0.05, 0.1, 2}) {
                KtoLoss.Settings s = new KtoLoss.Settings(t, beta, 1.0, 1.33);
                assertEquals(0.5, KtoLoss.of(s, true, -12.5, -12.5, 0).loss(), 1e-15);
                assertEquals(1.33 * 0.5, KtoLoss.of(s, false, -7, -7, 0).loss(), 1e-15);
            }
        }
        // a batch of 3 desirable and 1 undesirable at weights 1 and 1.33: (3 * 0.5 + 1.33 * 0.5) / 4
        double[] kl = {-4, -5, -6, -7};
        double z0 = KtoLoss.klEstimate(kl, kl);
        assertEquals(0, z0);
        double sum = 0;
        boolean[] labels = {true, true, false, true};
        for (boolean l : labels) {
            sum += KtoLoss.of(kto(0.1, 1, 1.33), l, -3, -3, z0).loss();
        }
        assertEquals((3 * 0.5 + 1.33 * 0.5) / 4, sum / 4, 1e-15);
    }

    @Test
    void valuesByHandAndTheKlEstimate() {
        // z0 = max(0, mean([1.0, -0.2, 0.6] - [0.5, 0.1, 0.2])) = max(0, (0.5 - 0.3 + 0.4) / 3) = 0.2
        assertEquals(0.2, KtoLoss.klEstimate(new double[] {1.0, -0.2, 0.6}, new double[] {0.5, 0.1, 0.2}), 1e-15);
        // a negative mean is clamped at 0
        assertEquals(0, KtoLoss.klEstimate(new double[] {-1, 0.1}, new double[] {0, 0}));
        // desirable: r = -10 - (-12) = 2, beta 0.5, z0 0.2: 1 - sigmoid(0.9); weight 2
        KtoLoss.Result d = KtoLoss.of(kto(0.5, 2, 1), true, -10, -12, 0.2);
        assertEquals(2 * (1 - 1 / (1 + Math.exp(-0.9))), d.loss(), 1e-15);
        assertEquals(1.0, d.reward(), 1e-15);
        // undesirable: r = -9 - (-8) = -1: 1 - sigmoid(0.5 (0.2 + 1)) = 1 - sigmoid(0.6)
        KtoLoss.Result u = KtoLoss.of(kto(0.5, 2, 1), false, -9, -8, 0.2);
        assertEquals(1 - 1 / (1 + Math.exp(-0.6)), u.loss(), 1e-15);
        assertEquals(-0.5, u.reward(), 1e-15);
        // APO-zero ignores z0: undesirable sigmoid(beta r)
        KtoLoss.Settings apo = new KtoLoss.Settings(KtoLossType.APO_ZERO_UNPAIRED, 0.5, 1, 1);
        assertEquals(1 / (1 + Math.exp(0.5)), KtoLoss.of(apo, false, -9, -8, 3.0).loss(), 1e-15);
        assertEquals(1 - 1 / (1 + Math.exp(-1.0)), KtoLoss.of(apo, true, -10, -12, 3.0).loss(), 1e-15);
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        double h = 1e-6;
        for (KtoLossType t : KtoLossType.values()) {
            for (boolean desirable : new boolean[] {true, false}) {
                for (double kl : new double[] {0, 0.7}) {
                    KtoLoss.Settings s = new KtoLoss.Settings(t, 0.3, 1.2, 0.8);
                    double lp = -7.3;
                    double fd = (KtoLoss.of(s, desirable, lp + h, -6.2, kl).loss()
                            - KtoLoss.of(s, desirable, lp - h, -6.2, kl).loss()) / (2 * h);
                    assertEquals(fd, KtoLoss.of(s, desirable, lp, -6.2, kl).dLogp(), 1e-8,
                            t + " desirable=" + desirable + " kl=" + kl);
                }
            }
        }
    }

    @Test
    void extremeLogRatiosStayFinite() {
        KtoLoss.Result r = KtoLoss.of(kto(1, 1, 1), true, -2000, 0, 0);
        assertEquals(1.0, r.loss(), 1e-12);
        assertTrue(Double.isFinite(r.dLogp()));
        assertEquals(0.0, KtoLoss.of(kto(1, 1, 1), false, -2000, 0, 0).loss(), 1e-12);
    }

    @Test
    void theWeightsRuleIsTrls() {
        // balanced data: no advice whatever the weights
        assertNull(KtoLoss.weightAdvice(1, 5, 100, 100));
        // 300 desirable, 100 undesirable, weights 1 and 1: desirable_weight in [round(100/300, 2), round(100/300
        // * 1.33, 2)] = [0.33, 0.44] or undesirable_weight in [round(3 / 1.33, 2), 3] = [2.26, 3.0]
        String a = KtoLoss.weightAdvice(1, 1, 300, 100);
        assertNotNull(a);
        assertTrue(a.contains("--desirable-weight in [0.33, 0.44]"), a);
        assertTrue(a.contains("--undesirable-weight in [2.26, 3.0]"), a);
        assertTrue(a.contains("= 3.000"), a);
        // either weight in its range silences it: (1 * 300) / (2.5 * 100) = 1.2
        assertNull(KtoLoss.weightAdvice(1, 2.5, 300, 100));
        assertNull(KtoLoss.weightAdvice(0.4, 1, 300, 100));
        // the bounds are inclusive as rounded: desirable_weight 0.44 passes, 0.45 does not
        assertNull(KtoLoss.weightAdvice(0.44, 1, 300, 100));
        assertNotNull(KtoLoss.weightAdvice(0.45, 1, 300, 100));
        // TRL counts at least one of each: all desirable is 400 against 1
        assertNotNull(KtoLoss.weightAdvice(1, 1, 400, 0));
    }
}
