package org.align4j.ppo.algos;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** A tiny case per policy loss and aggregation, computed by hand. */
class PolicyLossesTest {

    static final PolicyLoss.Settings DAPO = new PolicyLoss.Settings(0.2, 0.28, Double.NaN, 1.0, 1.05);

    static double[][] run(String name, double[] logp, double[] old, double[] adv, PolicyLoss.Settings s) {
        double[] l = new double[logp.length];
        double[] g = new double[logp.length];
        PolicyLoss.Clip[] c = new PolicyLoss.Clip[logp.length];
        PolicyLosses.get(name).compute(logp, old, adv, s, l, g, c);
        double[] clipped = new double[c.length];
        for (int i = 0; i < c.length; i++) {
            clipped[i] = c[i].ordinal();
        }
        return new double[][] {l, g, clipped};
    }

    @Test
    void clipHigherLetsAPositiveAdvantageRiseFurther() {
        // ratio 1.25 (log 0.2231) with A = 2: inside [0.8, 1.28], unclipped: loss -2.5, gradient -2.5;
        // with the symmetric 0.2 it is clipped at 1.2: loss -2.4, gradient 0
        double lr = Math.log(1.25);
        double[][] hi = run("vanilla", new double[] {lr}, new double[] {0}, new double[] {2}, DAPO);
        assertEquals(-2.5, hi[0][0], 1e-12);
        assertEquals(-2.5, hi[1][0], 1e-12);
        double[][] sym = run("vanilla", new double[] {lr}, new double[] {0}, new double[] {2},
                PolicyLoss.Settings.symmetric(0.2));
        assertEquals(-2.4, sym[0][0], 1e-12);
        assertEquals(0, sym[1][0], 0);
        assertEquals(PolicyLoss.Clip.RATIO.ordinal(), sym[2][0]);
    }

    @Test
    void dualClipCapsANegativeAdvantagesLoss() {
        // ratio 5 with A = -1: PPO's loss max(5, 1.28) = 5 with gradient 5; the dual clip c = 3 caps it at 3, no gradient
        double[] logp = {Math.log(5), Math.log(2)};
        double[] adv = {-1, -1};
        PolicyLoss.Settings c3 = new PolicyLoss.Settings(0.2, 0.28, 3, 1, 1);
        double[][] plain = run("vanilla", logp, new double[2], adv, DAPO);
        double[][] dual = run("vanilla", logp, new double[2], adv, c3);
        assertArrayEquals(new double[] {5, 2}, plain[0], 1e-12);
        assertArrayEquals(new double[] {5, 2}, plain[1], 1e-12);
        assertArrayEquals(new double[] {3, 2}, dual[0], 1e-12);
        assertArrayEquals(new double[] {0, 2}, dual[1], 1e-12);
        assertEquals(PolicyLoss.Clip.DUAL.ordinal(), dual[2][0]);
    }

    @Test
    void gspoUsesTheGeometricMeanRatioOfTheResponse() {
        // token log-ratios 0.1 and -0.3: s = exp(-0.1) = 0.904837; A = 1 (inside [0.8, 1.28]): loss -s at each
        // token, gradient -A s (which, weighed 1/2 per token, is d(-s)/dlogp_t = -s/2)
        double s = Math.exp(-0.1);
        double[][] r = run("gspo", new double[] {-1.0, -2.0}, new double[] {-1.1, -1.7}, new double[] {1, 1}, DAPO);
        assertArrayEquals(new double[] {-s, -s}, r[0], 1e-12);
        assertArrayEquals(new double[] {-s, -s}, r[1], 1e-12);
        // GSPO's bounds (3e-4, 4e-4): s is far below 1 - 3e-4 with A < 0, so clipped: loss max(s, 1 - 3e-4), no gradient
        double[][] c = run("gspo", new double[] {-1.0, -2.0}, new double[] {-1.1, -1.7}, new double[] {-1, -1},
                new PolicyLoss.Settings(3e-4, 4e-4, Double.NaN, 1, 1));
        assertArrayEquals(new double[] {1 - 3e-4, 1 - 3e-4}, c[0], 1e-12);
        assertArrayEquals(new double[] {0, 0}, c[1], 0);
        // with A > 0 the pessimistic max keeps the unclipped -A s (PPO's rule), with its gradient
        double[][] u = run("gspo", new double[] {-1.0, -2.0}, new double[] {-1.1, -1.7}, new double[] {1, 1},
                new PolicyLoss.Settings(3e-4, 4e-4, Double.NaN, 1, 1));
        assertArrayEquals(new double[] {-s, -s}, u[1], 1e-12);
    }

    @Test
    void cispoKeepsAGradientWhereTheClipBinds() {
        // ratio 2 (clipped to 1.28) with A = 1 at logp -0.5: loss -1.28 x 1 x -0.5 = 0.64, gradient -1.28;
        // ratio 0.9 inside: gradient -0.9 A
        double[][] r = run("cispo", new double[] {-0.5, -1.0}, new double[] {-0.5 - Math.log(2), -1.0 - Math.log(0.9)},
                new double[] {1, -2}, DAPO);
        assertArrayEquals(new double[] {0.64, -0.9 * -2 * -1.0}, r[0], 1e-12);
        assertArrayEquals(new double[] {-1.28, 1.8}, r[1], 1e-12);
        assertArrayEquals(new double[] {PolicyLoss.Clip.RATIO.ordinal(), 0}, r[2], 0);
    }

    @Test
    void sapoAtRatioOneIsTheUnclippedPolicyGradient() {
        // r = 1: sigmoid(0) = 1/2, loss -A x 4 x 1/2 / tau = -2A/tau; gradient -A 4 (1/2)(1/2) x 1 = -A
        double[][] r = run("sapo", new double[] {-1, -2}, new double[] {-1, -2}, new double[] {1.5, -1}, DAPO);
        assertArrayEquals(new double[] {-3, 2 / 1.05}, r[0], 1e-12);
        assertArrayEquals(new double[] {-1.5, 1}, r[1], 1e-12);
    }

    @Test
    void aggregationWeightsByHand() {
        // responses of 2, 4 and 0 (masked) tokens; Dr. GRPO's constant 10
        int[] n = {2, 4, 0};
        assertArrayEquals(new double[] {1 / 6.0, 1 / 6.0, 0}, LossAggregation.TOKEN_MEAN.weights(n, 10), 1e-15);
        assertArrayEquals(new double[] {1 / 4.0, 1 / 8.0, 0}, LossAggregation.SEQ_MEAN_TOKEN_MEAN.weights(n, 10),
                1e-15);
        assertArrayEquals(new double[] {1 / 2.0, 1 / 2.0, 0}, LossAggregation.SEQ_MEAN_TOKEN_SUM.weights(n, 10), 1e-15);
        assertArrayEquals(new double[] {1 / 30.0, 1 / 30.0, 0},
                LossAggregation.SEQ_MEAN_TOKEN_SUM_NORM.weights(n, 10), 1e-15);
    }
}
