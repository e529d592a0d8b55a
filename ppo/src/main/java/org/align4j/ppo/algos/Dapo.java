package org.align4j.ppo.algos;

import java.util.ArrayList;
import java.util.List;

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
}
