package org.align4j.reward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;

import org.junit.jupiter.api.Test;

/** Uncertainty selection against hand-computed Bradley-Terry separations. */
class ActiveSelectionTest {

    @Test
    void separationIsTheMeanDistanceOfPairwiseProbabilitiesFromOneHalf() {
        assertEquals(0, ActiveSelection.separation(new double[] {1.5, 1.5}), 1e-15);
        // sigmoid(ln 3) = 3/4: 1/4 from 1/2
        assertEquals(0.25, ActiveSelection.separation(new double[] {Math.log(3), 0}), 1e-15);
        // pairs (a,b) (a,c) (b,c) with gaps ln3, ln3, 0: (1/4 + 1/4 + 0) / 3
        assertEquals(1.0 / 6, ActiveSelection.separation(new double[] {Math.log(3), 0, 0}), 1e-15);
    }

    @Test
    void uncertaintyKeepsTheLeastSeparatedTasksAndRandomIsSeeded() {
        List<double[]> rewards = List.of(new double[] {3, -3}, new double[] {0.1, 0}, new double[] {2, 0},
                new double[] {0, 0.05});
        assertArrayEquals(new int[] {1, 3}, ActiveSelection.select(ActiveSelection.Strategy.UNCERTAINTY, rewards, 4, 2,
                0));
        int[] a = ActiveSelection.select(ActiveSelection.Strategy.RANDOM, rewards, 4, 2, 9);
        assertArrayEquals(a, ActiveSelection.select(ActiveSelection.Strategy.RANDOM, rewards, 4, 2, 9));
        assertEquals(2, a.length);
        assertEquals(4, ActiveSelection.select(ActiveSelection.Strategy.RANDOM, rewards, 4, 10, 9).length);
    }
}
