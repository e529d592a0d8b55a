package org.align4j.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

/** GAE, whitening, the KL controller, RLOO, GRPO and the clipped losses against hand-computed values. */
class PpoMathTest {

    @Test
    void gaeByHand() {
        // rewards (0, 0, 1), values (0.5, 0.2, 0.4), gamma 0.9, lambda 0.8
        // delta2 = 1 - 0.4 = 0.6; delta1 = 0 + 0.9*0.4 - 0.2 = 0.16; delta0 = 0 + 0.9*0.2 - 0.5 = -0.32
        // A2 = 0.6; A1 = 0.16 + 0.72*0.6 = 0.592; A0 = -0.32 + 0.72*0.592 = 0.10624
        assertArrayEquals(new double[] {0.10624, 0.592, 0.6},
                Advantages.gae(new double[] {0, 0, 1}, new double[] {0.5, 0.2, 0.4}, 0.9, 0.8), 1e-12);
        // gamma = lambda = 1: advantages are returns-to-go minus values
        assertArrayEquals(new double[] {2 - 0.5, 1 - 0.2, 1 - 0.4},
                Advantages.gae(new double[] {1, 0, 1}, new double[] {0.5, 0.2, 0.4}, 1, 1), 1e-12);
    }

    @Test
    void whiteningAcrossSequences() {
        double[] a = {1, 2};
        double[] b = {3, 6};
        Advantages.whiten(List.of(a, b));
        // mean 3, population std sqrt((4 + 1 + 0 + 9) / 4) = sqrt(3.5)
        double s = Math.sqrt(3.5);
        assertArrayEquals(new double[] {-2 / s, -1 / s}, a, 1e-7);
        assertArrayEquals(new double[] {0, 3 / s}, b, 1e-7);
    }

    @Test
    void rlooAndGrpoByHand() {
        // groups of 3: (1, 2, 6) and (0, 0, 3)
        double[] r = {1, 2, 6, 0, 0, 3};
        assertArrayEquals(new double[] {1 - 4, 2 - 3.5, 6 - 1.5, 0 - 1.5, 0 - 1.5, 3 - 0}, Advantages.rloo(r, 3),
                1e-12);
        // group 1: mean 3, sample std sqrt((4 + 1 + 9) / 2) = sqrt(7)
        double[] g = Advantages.grpo(r, 3, 0);
        assertEquals(-2 / Math.sqrt(7), g[0], 1e-12);
        assertEquals(3 / Math.sqrt(7), g[2], 1e-12);
        // group 2: mean 1, sample std sqrt((1 + 1 + 4) / 2) = sqrt(3)
        assertEquals(2 / Math.sqrt(3), g[5], 1e-12);
    }

    @Test
    void adaptiveKlControllerByHand() {
        KlController c = new KlController(0.1, 6.0, 100);
        c.update(9, 10); // err = clip(9/6 - 1, -0.2, 0.2) = 0.2; beta *= 1 + 0.2 * 10/100
        assertEquals(0.1 * 1.02, c.value(), 1e-15);
        c.update(5.4, 50); // err = -0.1; beta *= 1 - 0.05
        assertEquals(0.1 * 1.02 * 0.95, c.value(), 1e-15);
        KlController fixed = new KlController(0.3, null, 100);
        fixed.update(100, 100);
        assertEquals(0.3, fixed.value(), 0);
    }

    @Test
    void clippedPolicyAndValueLossesByHandAndByFiniteDifferences() {
        // ratio e^0.5 = 1.6487 > 1.2 with a positive advantage: the clipped term binds, no gradient
        PpoLoss.Token t = PpoLoss.policy(0.5, 0, 2, 0.2);
        assertEquals(-2 * 1.2, t.loss(), 1e-12);
        assertEquals(0, t.grad(), 0);
        assertTrue(t.clipped());
        // negative advantage, ratio above the range: the unclipped term is larger
        t = PpoLoss.policy(0.5, 0, -2, 0.2);
        assertEquals(2 * Math.exp(0.5), t.loss(), 1e-12);
        assertFalse(t.clipped());
        double h = 1e-6;
        for (double[] c : new double[][] {{0.1, 0, 1.5}, {-0.4, 0, -0.7}, {0.05, -0.02, 0.3}}) {
            double num = (PpoLoss.policy(c[0] + h, c[1], c[2], 0.2).loss()
                    - PpoLoss.policy(c[0] - h, c[1], c[2], 0.2).loss()) / (2 * h);
            assertEquals(num, PpoLoss.policy(c[0], c[1], c[2], 0.2).grad(), 1e-7);
        }
        // value: v 1.0, old 0.5, return 0.0, eps 0.2: clipped v 0.7; 0.5 max(1, 0.49) = 0.5, gradient v - R
        PpoLoss.Token v = PpoLoss.value(1.0, 0.5, 0.0, 0.2);
        assertEquals(0.5, v.loss(), 1e-12);
        assertEquals(1.0, v.grad(), 1e-12);
        // v 0.0, old 0.5, return 1.0: clipped 0.3, max(1, 0.49) picks the unclipped again
        // v 0.6, old 0.5, return -1.0: clipped 0.6 (inside), equal terms
        for (double[] c : new double[][] {{0.2, 0.5, 1.3}, {0.9, 0.5, -0.4}, {0.55, 0.5, 2.0}}) {
            double num = (PpoLoss.value(c[0] + h, c[1], c[2], 0.2).loss()
                    - PpoLoss.value(c[0] - h, c[1], c[2], 0.2).loss()) / (2 * h);
            assertEquals(num, PpoLoss.value(c[0], c[1], c[2], 0.2).grad(), 1e-7);
        }
        double[] k3 = PpoLoss.k3(-1.2, -1.0);
        assertEquals(Math.exp(0.2) - 0.2 - 1, k3[0], 1e-15);
        assertEquals((PpoLoss.k3(-1.2 + h, -1.0)[0] - PpoLoss.k3(-1.2 - h, -1.0)[0]) / (2 * h), k3[1], 1e-8);
    }
}
