package org.align4j.ppo.algos;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import org.align4j.ppo.PpoOptions;
import org.junit.jupiter.api.Test;

/**
 * Each registered advantage estimator against hand-computed values on one batch: two groups of two
 * responses, scores (1, 0) and (0, 2), per-token KL (0.1, 0.2), (0.3), (0, 0.5), (0.2), beta 0.5.
 * KL-shaped sequence rewards: 1 - 0.5 x 0.3 = 0.85, -0.15, -0.25, 2 - 0.1 = 1.9.
 */
class AdvantageEstimatorsTest {

    static final double[] SCORES = {1, 0, 0, 2};
    static final double[][] KL = {{0.1, 0.2}, {0.3}, {0, 0.5}, {0.2}};

    static double[][] run(String name, double gamma, ScaleRewards scale) {
        return AdvantageEstimators.get(name).compute(new AdvantageEstimator.Input(SCORES, KL, null, 2, 0.5,
                new AdvantageEstimator.Settings(gamma, 0.95, true, scale))).advantages();
    }

    @Test
    void everyEstimatorOfTheOptionIsRegistered() {
        for (PpoOptions.Estimator e : PpoOptions.Estimator.values()) {
            assertNotNull(AdvantageEstimators.all().get(e.toString()), e.toString());
        }
    }

    @Test
    void grpoScaledByGroupByBatchAndNotAtAll() {
        // group 1: mean 0.5, sample std sqrt(0.5); group 2: mean 1, std sqrt(2); eps 1e-4 as TRL
        double[][] g = run("grpo", 1, ScaleRewards.GROUP);
        assertArrayEquals(new double[] {0.5 / (Math.sqrt(0.5) + 1e-4), 0.5 / (Math.sqrt(0.5) + 1e-4)},
                new double[] {g[0][0], g[0][1]}, 1e-12);
        assertEquals(-0.5 / (Math.sqrt(0.5) + 1e-4), g[1][0], 1e-12);
        assertEquals(-1 / (Math.sqrt(2) + 1e-4), g[2][1], 1e-12);
        assertEquals(1 / (Math.sqrt(2) + 1e-4), g[3][0], 1e-12);
        // Dr. GRPO: centred only
        double[][] none = run("grpo", 1, ScaleRewards.NONE);
        assertArrayEquals(new double[] {0.5, 0.5}, none[0], 1e-15);
        assertArrayEquals(new double[] {-0.5}, none[1], 1e-15);
        assertArrayEquals(new double[] {-1, -1}, none[2], 1e-15);
        assertArrayEquals(new double[] {1}, none[3], 1e-15);
        // batch: the std of all four scores, mean 0.75, sum of squares 2.75 over 3
        double s = Math.sqrt(2.75 / 3) + 1e-4;
        double[][] batch = run("grpo", 1, ScaleRewards.BATCH);
        assertEquals(0.5 / s, batch[0][0], 1e-12);
        assertEquals(-1 / s, batch[2][0], 1e-12);
        assertEquals(1.0443568562180800, batch[3][0], 1e-12);
    }

    @Test
    void rlooOnTheKlShapedRewards() {
        // r_i minus the other response of its group: 0.85 - (-0.15), -0.15 - 0.85, -0.25 - 1.9, 1.9 - (-0.25)
        double[][] a = run("rloo", 1, ScaleRewards.GROUP);
        assertArrayEquals(new double[] {1.0, 1.0}, a[0], 1e-12);
        assertArrayEquals(new double[] {-1.0}, a[1], 1e-12);
        assertArrayEquals(new double[] {-2.15, -2.15}, a[2], 1e-12);
        assertArrayEquals(new double[] {2.15}, a[3], 1e-12);
    }

    @Test
    void reinforcePlusPlusWhitensDiscountedReturnsOverEveryToken() {
        // token rewards (-0.05, 0.9), (-0.15), (0, -0.25), (1.9); gamma 1: returns 0.85, 0.9 | -0.15 | -0.25, -0.25 | 1.9
        // mean 0.5, unbiased variance 3.79 / 5 = 0.758: (0.85 - 0.5) / sqrt(0.758) = 0.40200...
        double[][] a = run("reinforce++", 1, ScaleRewards.GROUP);
        assertArrayEquals(new double[] {0.4020068364452119, 0.4594363845088137}, a[0], 1e-9);
        assertArrayEquals(new double[] {-0.7465841248268222}, a[1], 1e-9);
        assertArrayEquals(new double[] {-0.8614432209540256, -0.8614432209540256}, a[2], 1e-9);
        assertArrayEquals(new double[] {1.6080273457808476}, a[3], 1e-9);
        // gamma 0.5: returns 0.4, 0.9 | -0.15 | -0.125, -0.25 | 1.9
        double[][] d = run("reinforce++", 0.5, ScaleRewards.GROUP);
        assertArrayEquals(new double[] {-0.054875299983169014, 0.5437643361968573}, d[0], 1e-9);
        assertArrayEquals(new double[] {-0.6834469179721966, -0.8331068270172032}, d[2], 1e-9);
    }

    @Test
    void reinforcePlusPlusBaselineCentresByGroupThenWhitensOverTokens() {
        // group means 0.35 and 0.825: centred 0.5, -0.5, -1.075, 1.075, at every token, then whitened
        double[][] a = run("reinforce++-baseline", 1, ScaleRewards.GROUP);
        assertArrayEquals(new double[] {0.6530865115397398, 0.6530865115397398}, a[0], 1e-9);
        assertArrayEquals(new double[] {-0.44300273859688644}, a[1], 1e-9);
        assertArrayEquals(new double[] {-1.0732540574254466, -1.0732540574254466}, a[2], 1e-9);
        assertArrayEquals(new double[] {1.2833378303683}, a[3], 1e-9);
        // a group of one has no baseline (verl): the reward itself, whitened alone to 0
        double[][] one = AdvantageEstimators.get("reinforce++-baseline").compute(new AdvantageEstimator.Input(
                new double[] {3}, new double[][] {{0}}, null, 1, 0.5,
                new AdvantageEstimator.Settings(1, 1, false, ScaleRewards.GROUP))).advantages();
        assertEquals(0, one[0][0], 1e-12);
    }

    @Test
    void gaeAsBeforeWithTheKlInTheRewardAndReturnsForTheCritic() {
        // one response, KL (0.2, 0.4), beta 0.5, score 1: rewards (-0.1, 1 - 0.2); values (0.5, 0.2); gamma lambda 1
        // A1 = 0.8 - 0.2 = 0.6; A0 = -0.1 + 0.2 - 0.5 + 0.6 = 0.2; returns A + V = 0.7, 0.8
        AdvantageEstimator.Result r = AdvantageEstimators.get("gae").compute(new AdvantageEstimator.Input(
                new double[] {1}, new double[][] {{0.2, 0.4}}, new double[][] {{0.5, 0.2}}, 1, 0.5,
                new AdvantageEstimator.Settings(1, 1, false, ScaleRewards.GROUP)));
        assertArrayEquals(new double[] {0.2, 0.6}, r.advantages()[0], 1e-12);
        assertArrayEquals(new double[] {0.7, 0.8}, r.returns()[0], 1e-12);
    }
}
