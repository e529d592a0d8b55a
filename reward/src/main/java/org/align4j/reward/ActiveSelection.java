package org.align4j.reward;

import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Chooses which labeling tasks annotators see when there is a budget. {@code uncertainty}
 * keeps the tasks whose candidates the reward model separates least: the mean, over the pairs of
 * a task's candidates, of how far the Bradley-Terry probability {@code sigmoid(r_i - r_j)} is from
 * 1/2 (0: the model cannot tell any two apart). {@code random} is the control.
 */
public final class ActiveSelection {

    public enum Strategy { UNCERTAINTY, RANDOM;

        @Override
        public String toString() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private ActiveSelection() {
    }

    /** Mean |sigmoid(r_i - r_j) - 1/2| over the pairs of one task's rewards. */
    public static double separation(double[] rewards) {
        double sum = 0;
        int pairs = 0;
        for (int i = 0; i < rewards.length; i++) {
            for (int j = i + 1; j < rewards.length; j++) {
                sum += Math.abs(RewardLoss.sigmoid(rewards[i] - rewards[j]) - 0.5);
                pairs++;
            }
        }
        return pairs == 0 ? 0 : sum / pairs;
    }

    /** Indices of the {@code budget} tasks to keep, in their original order. */
    public static int[] select(Strategy strategy, List<double[]> rewards, int tasks, int budget, long seed) {
        int n = Math.min(budget, tasks);
        int[] chosen;
        if (strategy == Strategy.UNCERTAINTY) {
            chosen = IntStream.range(0, tasks).boxed()
                    .sorted(Comparator.comparingDouble((Integer i) -> separation(rewards.get(i))).thenComparing(i -> i))
                    .limit(n).mapToInt(Integer::intValue).toArray();
        } else {
            int[] order = IntStream.range(0, tasks).toArray();
            SplittableRandom r = new SplittableRandom(seed);
            for (int i = order.length - 1; i > 0; i--) {
                int j = r.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
            chosen = java.util.Arrays.copyOf(order, n);
        }
        java.util.Arrays.sort(chosen);
        return chosen;
    }
}
