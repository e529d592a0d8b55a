package org.align4j.ppo.algos;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/** DAPO's overlong punishment and dynamic sampling's drop and refill, by hand. */
class DapoTest {

    @Test
    void overlongPunishmentIsZeroThenLinearInTheBuffer() {
        // max 20, buffer 5: up to 15 tokens free; 16 loses 1/5, 18 loses 3/5, 20 loses the whole factor
        assertEquals(0, Dapo.overlongPenalty(10, 20, 5, 1.0), 0);
        assertEquals(0, Dapo.overlongPenalty(15, 20, 5, 1.0), 0);
        assertEquals(-0.2, Dapo.overlongPenalty(16, 20, 5, 1.0), 1e-15);
        assertEquals(-0.6, Dapo.overlongPenalty(18, 20, 5, 1.0), 1e-15);
        assertEquals(-1.0, Dapo.overlongPenalty(20, 20, 5, 1.0), 1e-15);
        assertEquals(-0.5, Dapo.overlongPenalty(20, 20, 5, 0.5), 1e-15);
        // the paper's numbers: L_max 20480, L_cache 4096: 18432 tokens lose 0.5
        assertEquals(-0.5, Dapo.overlongPenalty(18432, 20480, 4096, 1.0), 1e-15);
        assertEquals(0, Dapo.overlongPenalty(20, 20, 0, 1.0), 0, "off");
    }

    @Test
    void groupsOfEqualScoresAreNotInformative() {
        assertEquals(List.of(1, 3), Dapo.informativeGroups(new double[] {1, 1, 0, 1, 0, 0, 0.5, 0.25}, 2));
        assertEquals(List.of(), Dapo.informativeGroups(new double[] {1, 1, 1}, 3));
        assertEquals(List.of(0), Dapo.informativeGroups(new double[] {1, 1, 0}, 3));
    }

    /** Scores of a round's samples: "round.group.member" names each sample. */
    record S(String name, double score) {
    }

    static List<S> round(int round, double[][] groups) {
        List<S> out = new ArrayList<>();
        for (int g = 0; g < groups.length; g++) {
            for (int i = 0; i < groups[g].length; i++) {
                out.add(new S(round + "." + g + "." + i, groups[g][i]));
            }
        }
        return out;
    }

    @Test
    void dropsEqualGroupsAndRefillsFromMoreRoundsInOrder() {
        // 3 groups wanted, K 2. Round 0 keeps group 1; round 1 keeps groups 0 and 2 and has enough
        double[][][] rounds = {{{1, 1}, {0, 1}, {0, 0}}, {{1, 0}, {0, 0}, {0.5, 1}}, {{0, 1}, {0, 1}, {0, 1}}};
        List<Integer> made = new ArrayList<>();
        Dapo.Refill<S> r = Dapo.dynamicSampling(3, 2, 4, i -> {
            made.add(i);
            return round(i, rounds[i]);
        }, S::score);
        assertEquals(List.of(0, 1), made, "stops as soon as the batch is full");
        assertEquals(List.of("0.1.0", "0.1.1", "1.0.0", "1.0.1", "1.2.0", "1.2.1"),
                r.kept().stream().map(S::name).toList());
        assertEquals(3, r.dropped()); // 0.0, 0.2, 1.1
        assertEquals(1, r.rounds());
    }

    @Test
    void keepsNoMoreThanTheBatchAndStopsAtTheBound() {
        // every group informative: round 0 fills the batch of 2, its third group is not taken
        Dapo.Refill<S> full = Dapo.dynamicSampling(2, 2, 4, i -> round(i, new double[][] {{0, 1}, {1, 0}, {0, 1}}),
                S::score);
        assertEquals(List.of("0.0.0", "0.0.1", "0.1.0", "0.1.1"), full.kept().stream().map(S::name).toList());
        assertEquals(0, full.dropped());
        assertEquals(0, full.rounds());
        // never informative: 1 + 2 rounds, then it trains on what it has (nothing)
        List<Integer> made = new ArrayList<>();
        Dapo.Refill<S> none = Dapo.dynamicSampling(2, 2, 2, i -> {
            made.add(i);
            return round(i, new double[][] {{1, 1}, {0, 0}});
        }, S::score);
        assertEquals(List.of(0, 1, 2), made);
        assertEquals(0, none.kept().size());
        assertEquals(6, none.dropped());
        assertEquals(2, none.rounds());
        // the bound 0: drop only, never resample
        Dapo.Refill<S> dropOnly = Dapo.dynamicSampling(2, 2, 0, i -> round(i, new double[][] {{1, 1}, {0, 1}}),
                S::score);
        assertEquals(2, dropOnly.kept().size());
        assertEquals(1, dropOnly.dropped());
    }
}
