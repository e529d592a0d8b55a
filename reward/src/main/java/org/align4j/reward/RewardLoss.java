package org.align4j.reward;

import java.util.List;

import org.align4j.train.Metrics;

/**
 * The pairwise loss of a reward model and its gradient with respect to the scores:
 * {@code -log sigmoid(r_better - r_worse - margin)}, plus TRL's centering term
 * {@code c · (r_better + r_worse)^2} when {@code c > 0}, each pair weighted within its group.
 * Metrics use TRL's names: {@code loss}, {@code accuracy}, {@code rewards/chosen},
 * {@code rewards/rejected}, {@code rewards/margins}, each a mean over prompts.
 */
public final class RewardLoss {

    private RewardLoss() {
    }

    /** {@code log(1 + exp(x))} without overflow. */
    static double softplus(double x) {
        return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
    }

    static double sigmoid(double x) {
        return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
    }

    /**
     * Loss of {@code groups} whose scores start at {@code offsets[g]} in {@code scores}; adds
     * {@code scale · dLoss/dscore} into {@code dScores} (when not null) and the metrics. Returns
     * the summed loss of the groups.
     */
    public static double compute(List<RewardGroup> groups, int[] offsets, double[] scores, double center, double scale,
                                 double[] dScores, Metrics metrics) {
        double total = 0;
        for (int g = 0; g < groups.size(); g++) {
            int o = offsets[g];
            double loss = 0;
            double correct = 0;
            double chosen = 0;
            double rejected = 0;
            for (RewardGroup.Pair p : groups.get(g).pairs()) {
                double rb = scores[o + p.better()];
                double rw = scores[o + p.worse()];
                double z = rb - rw - p.margin();
                double sum = rb + rw;
                loss += p.weight() * (softplus(-z) + center * sum * sum);
                correct += p.weight() * (rb > rw ? 1 : 0);
                chosen += p.weight() * rb;
                rejected += p.weight() * rw;
                if (dScores != null) {
                    double dz = -sigmoid(-z);
                    dScores[o + p.better()] += scale * p.weight() * (dz + 2 * center * sum);
                    dScores[o + p.worse()] += scale * p.weight() * (-dz + 2 * center * sum);
                }
            }
            total += loss;
            if (metrics != null) {
                metrics.mean("loss", loss, 1);
                metrics.mean("accuracy", correct, 1);
                metrics.mean("rewards/chosen", chosen, 1);
                metrics.mean("rewards/rejected", rejected, 1);
                metrics.mean("rewards/margins", chosen - rejected, 1);
            }
        }
        return total;
    }
}
