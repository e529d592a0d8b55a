package org.align4j.dpo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The DPO family's losses against hand-computed values and their gradients against finite differences. */
class DpoLossTest {

    static DpoLoss.Settings settings(DpoLossType type, double beta, double eps) {
        return new DpoLoss.Settings(type, beta, eps, 0.4, 0.3, 0);
    }

    @Test
    void aPolicyEqualToItsReferenceStartsAtLnTwoAndIposConstant() {
        for (double beta : new double[] {0.05, 0.1, 0.5}) {
            assertEquals(Math.log(2), DpoLoss.pair(settings(DpoLossType.SIGMOID, beta, 0), -12, -9, -12, -9, 4, 3)
                    .loss(), 1e-15);
            assertEquals(1 / (4 * beta * beta), DpoLoss.pair(settings(DpoLossType.IPO, beta, 0), -12, -9, -12, -9, 4, 3)
                    .loss(), 1e-12);
            assertEquals(1.0, DpoLoss.pair(settings(DpoLossType.HINGE, beta, 0), -12, -9, -12, -9, 4, 3).loss(), 0);
        }
        // cDPO at D = 0 is ln 2 whatever the smoothing
        assertEquals(Math.log(2), DpoLoss.pair(settings(DpoLossType.SIGMOID, 0.1, 0.2), -5, -5, -5, -5, 2, 2).loss(),
                1e-15);
    }

    @Test
    void valuesByHand() {
        // D = (-10 - -12) - (-9 - -8) = 3, beta 0.5: -log sigmoid(1.5)
        DpoLoss.Pair p = DpoLoss.pair(settings(DpoLossType.SIGMOID, 0.5, 0), -10, -9, -12, -8, 5, 4);
        assertEquals(Math.log(1 + Math.exp(-1.5)), p.loss(), 1e-15);
        assertEquals(1.0, p.rewardChosen(), 1e-15);
        assertEquals(-0.5, p.rewardRejected(), 1e-15);
        // IPO: D' = 2/5 - (-1)/4 = 0.65, beta 0.5: (0.65 - 1)^2
        assertEquals(0.35 * 0.35, DpoLoss.pair(settings(DpoLossType.IPO, 0.5, 0), -10, -9, -12, -8, 5, 4).loss(),
                1e-15);
        // SimPO: beta 2, gamma 0.4: z = 2 (-10/5 - -9/4) - 0.4 = 0.1
        assertEquals(Math.log(1 + Math.exp(-0.1)), DpoLoss.pair(settings(DpoLossType.SIMPO, 2, 0), -10, -9, 0, 0, 5,
                4).loss(), 1e-15);
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        double h = 1e-6;
        for (DpoLossType type : DpoLossType.values()) {
            for (double eps : new double[] {0, 0.15}) {
                if (eps > 0 && type != DpoLossType.SIGMOID && type != DpoLossType.ROBUST) {
                    continue;
                }
                for (double rpo : new double[] {0, 0.6}) {
                    DpoLoss.Settings s = new DpoLoss.Settings(type, 0.3, eps, 0.4, 0.3, rpo);
                    double lc = -7.3;
                    double lr = -5.1;
                    DpoLoss.Pair p = DpoLoss.pair(s, lc, lr, -6.2, -6.0, 5, 3);
                    double dc = (DpoLoss.pair(s, lc + h, lr, -6.2, -6.0, 5, 3).loss()
                            - DpoLoss.pair(s, lc - h, lr, -6.2, -6.0, 5, 3).loss()) / (2 * h);
                    double dr = (DpoLoss.pair(s, lc, lr + h, -6.2, -6.0, 5, 3).loss()
                            - DpoLoss.pair(s, lc, lr - h, -6.2, -6.0, 5, 3).loss()) / (2 * h);
                    String what = type + " e=" + eps + " rpo=" + rpo;
                    assertEquals(dc, p.dChosen(), 1e-7, what + " d/dlogp_c");
                    assertEquals(dr, p.dRejected(), 1e-7, what + " d/dlogp_r");
                }
            }
        }
    }
}
