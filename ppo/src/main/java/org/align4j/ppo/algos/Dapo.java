package org.align4j.ppo.algos;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;
import java.util.function.ToDoubleFunction;

/**
 * DAPO's (Yu et al. 2025) reward-side pieces: the soft overlong punishment and the dynamic
 * sampling filter. Both act on scores, before any advantage is estimated.
 */
public final class Dapo {

    private Dapo() {
    }

    /**
     * The soft overlong punishment (DAPO eq. 13, verl's {@code overlong_buffer}): with
     * {@code L_max = maxNewTokens} and a buffer of {@code L_cache} tokens, a response of length
     * {@code |y| <= L_max - L_cache} is not punished, one inside the buffer loses
     * {@code (|y| - (L_max - L_cache)) / L_cache * factor}, linearly up to {@code factor} at {@code L_max}.
     */
    public static double overlongPenalty(int length, int maxNewTokens, int bufferLength, double factor) {
        if (bufferLength <= 0) {
            return 0;
        }
        int expected = maxNewTokens - bufferLength;
        double exceed = length - expected;
        return Math.min(-exceed / bufferLength * factor, 0);
    }

    /**
     * Dynamic sampling's filter: the indices of the groups (consecutive {@code k} scores) whose
     * scores are not all equal. A group of equal scores has advantage 0 for every response under
     * GRPO, RLOO and REINFORCE++-baseline, so it only shrinks the batch's gradient.
     */
    public static List<Integer> informativeGroups(double[] scores, int k) {
        List<Integer> kept = new ArrayList<>();
        for (int g = 0; g * k < scores.length; g++) {
            boolean varied = false;
            for (int i = g * k + 1; i < (g + 1) * k; i++) {
                varied |= scores[i] != scores[g * k];
            }
            if (varied) {
                kept.add(g);
            }
        }
        return kept;
    }

    /** What dynamic sampling kept, how many groups it dropped, and how many extra rollouts it made. */
    public record Refill<T>(List<T> kept, int dropped, int rounds) {
    }

    /**
     * DAPO's dynamic sampling (verl's {@code filter_groups}): takes the informative groups of round
     * 0's rollout and, while fewer than {@code wanted} groups are kept and fewer than
     * {@code maxRounds} extra rounds were made, rolls out round 1, 2, ... and takes theirs; the
     * batch is the first {@code wanted} groups kept (fewer when the rounds ran out).
     *
     * @param rollout the samples of a round, in consecutive groups of {@code k}
     */
    public static <T> Refill<T> dynamicSampling(int wanted, int k, int maxRounds, IntFunction<List<T>> rollout,
                                                ToDoubleFunction<T> score) {
        List<T> kept = new ArrayList<>();
        int dropped = 0;
        int round = 0;
        while (true) {
            List<T> samples = rollout.apply(round);
            double[] scores = samples.stream().mapToDouble(score).toArray();
            List<Integer> groups = informativeGroups(scores, k);
            dropped += scores.length / k - groups.size();
            for (int g : groups) {
                if (kept.size() < wanted * k) {
                    kept.addAll(samples.subList(g * k, (g + 1) * k));
                }
            }
            if (kept.size() >= wanted * k || round >= maxRounds) {
                return new Refill<>(kept, dropped, round);
            }
            round++;
        }
    }
}
