package org.align4j.reward;

import java.util.List;

/**
 * How well predicted scores order a labelled ranking: whether the highest-scored response is in
 * the labelled best group (top-1 accuracy), and Kendall's tau-b between the two orders (ties in
 * the labels allowed).
 */
public final class RankingMetrics {

    private RankingMetrics() {
    }

    /** Labelled rank of each response: the index of its group (0 = best). */
    static int[] ranks(List<List<Integer>> groups, int k) {
        int[] rank = new int[k];
        for (int g = 0; g < groups.size(); g++) {
            for (int i : groups.get(g)) {
                rank[i] = g;
            }
        }
        return rank;
    }

    public static boolean top1(List<List<Integer>> groups, double[] scores) {
        int best = 0;
        for (int i = 1; i < scores.length; i++) {
            if (scores[i] > scores[best]) {
                best = i;
            }
        }
        return groups.get(0).contains(best);
    }

    /** Kendall's tau-b of the scores against the labelled order; NaN when either order is all ties. */
    public static double kendallTauB(List<List<Integer>> groups, double[] scores) {
        int k = scores.length;
        int[] rank = ranks(groups, k);
        long concordant = 0;
        long discordant = 0;
        long labelTies = 0;
        long scoreTies = 0;
        long n0 = (long) k * (k - 1) / 2;
        for (int i = 0; i < k; i++) {
            for (int j = i + 1; j < k; j++) {
                // a lower rank is better; a higher score is better
                int label = Integer.compare(rank[j], rank[i]);
                int predicted = Double.compare(scores[i], scores[j]);
                if (label == 0) {
                    labelTies++;
                }
                if (predicted == 0) {
                    scoreTies++;
                }
                if (label != 0 && predicted != 0) {
                    if (label == predicted) {
                        concordant++;
                    } else {
                        discordant++;
                    }
                }
            }
        }
        double denominator = Math.sqrt((double) (n0 - labelTies) * (n0 - scoreTies));
        return denominator == 0 ? Double.NaN : (concordant - discordant) / denominator;
    }
}
