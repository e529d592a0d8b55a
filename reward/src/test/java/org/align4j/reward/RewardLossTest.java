package org.align4j.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.align4j.data.format.DataRecord;
import org.align4j.data.prepare.RankingPairs;
import org.align4j.train.Metrics;
import org.junit.jupiter.api.Test;

/** Pair expansion, the loss and its gradient, and ranking metrics against hand-computed values. */
class RewardLossTest {

    @Test
    void aRankingOfFourWithOneTieGivesFivePairsOfWeightOneFifth() {
        // B > A = C > D: the tie A=C gives no pair; C(4,2) - 1 = 5 pairs
        List<List<Integer>> groups = List.of(List.of(1), List.of(0, 2), List.of(3));
        List<RewardGroup.Pair> pairs = RewardGroup.rankingPairs(groups);
        List<List<Integer>> expected = List.of(List.of(1, 0), List.of(1, 2), List.of(1, 3), List.of(0, 3),
                List.of(2, 3));
        assertEquals(expected, pairs.stream().map(p -> List.of(p.better(), p.worse())).toList());
        pairs.forEach(p -> assertEquals(0.2, p.weight(), 1e-15));
        // the same pairs as the data module's expansion used by `data to-pairs`
        DataRecord.Ranking r = new DataRecord.Ranking("p", List.of("a", "b", "c", "d"), groups);
        assertEquals(5, RankingPairs.count(r));
        assertEquals(5, RankingPairs.expand(r).size());
    }

    @Test
    void lossAndGradientByHand() {
        // one pair, rewards 1.0 and 0.2, margin 0.3: z = 0.5, loss = log(1 + e^-0.5)
        RewardGroup g = new RewardGroup(List.of(new int[1], new int[1]), List.of(new RewardGroup.Pair(0, 1, 1, 0.3)),
                List.of());
        double[] d = new double[2];
        Metrics m = new Metrics();
        double loss = RewardLoss.compute(List.of(g), new int[] {0}, new double[] {1.0, 0.2}, 0, 1, d, m);
        assertEquals(Math.log(1 + Math.exp(-0.5)), loss, 1e-15);
        double s = 1 / (1 + Math.exp(0.5)); // sigmoid(-z)
        assertEquals(-s, d[0], 1e-15);
        assertEquals(s, d[1], 1e-15);
        assertEquals(1.0, m.values().get("accuracy"));
        assertEquals(0.8, m.values().get("rewards/margins"), 1e-15);
        // equal rewards and no margin: ln 2, the loss of an untrained (zero) head
        assertEquals(Math.log(2), RewardLoss.compute(List.of(g.withPairs(List.of(new RewardGroup.Pair(0, 1, 1, 0)))),
                new int[] {0}, new double[] {0, 0}, 0, 1, null, null), 1e-15);
    }

    @Test
    void gradientMatchesFiniteDifferencesWithCenteringAndWeights() {
        RewardGroup pair = new RewardGroup(List.of(new int[1], new int[1]),
                List.of(new RewardGroup.Pair(0, 1, 1, -0.4)), List.of());
        RewardGroup ranking = new RewardGroup(List.of(new int[1], new int[1], new int[1]),
                RewardGroup.rankingPairs(List.of(List.of(2), List.of(0), List.of(1))), List.of());
        List<RewardGroup> groups = List.of(pair, ranking);
        int[] offsets = {0, 2};
        double[] r = {0.3, -1.2, 2.0, 0.1, -0.5};
        double[] d = new double[r.length];
        RewardLoss.compute(groups, offsets, r, 0.07, 0.5, d, null);
        double h = 1e-6;
        for (int i = 0; i < r.length; i++) {
            double[] plus = r.clone();
            double[] minus = r.clone();
            plus[i] += h;
            minus[i] -= h;
            double numeric = 0.5 * (RewardLoss.compute(groups, offsets, plus, 0.07, 0, null, null)
                    - RewardLoss.compute(groups, offsets, minus, 0.07, 0, null, null)) / (2 * h);
            assertEquals(numeric, d[i], 1e-8, "d/dr" + i);
        }
    }

    @Test
    void rankingMetricsByHand() {
        // labels: 0 best, then 1 and 2 tied, then 3
        List<List<Integer>> groups = List.of(List.of(0), List.of(1, 2), List.of(3));
        // scores order 1 > 0 > 2 > 3: pairs (0,1) discordant, (0,2) (0,3) (1,3) (2,3) concordant, (1,2) label tie
        double[] s = {0.5, 0.9, 0.1, -1};
        assertFalse(RankingMetrics.top1(groups, s));
        assertTrue(RankingMetrics.top1(groups, new double[] {2, 0.9, 0.1, -1}));
        // tau-b = (4 - 1) / sqrt((6 - 1) * (6 - 0))
        assertEquals(3 / Math.sqrt(30), RankingMetrics.kendallTauB(groups, s), 1e-15);
        assertEquals(1.0, RankingMetrics.kendallTauB(List.of(List.of(0), List.of(1)), new double[] {1, 0}), 1e-15);
    }
}
