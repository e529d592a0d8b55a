package org.align4j.dpo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * Online DPO's pairs on a case worked by hand: three prompts, six samples in TRL's layout (sample k
 * and k + 3 answer prompt k). The judge's higher score is chosen, a tie chooses the first sample, and
 * each pair's loss and gradient are those of {@link DpoLoss} on the chosen and rejected samples'
 * log-probabilities, here also written out: -log sigmoid(beta D).
 */
class OnlineDpoJudgeTest {

    static final DpoLoss.Settings SIGMOID = new DpoLoss.Settings(DpoLossType.SIGMOID, 0.5, 0, 0, 0, 0);

    @Test
    void theBetterSampleIsChosenATieTakesTheFirstAndTheLossIsDpos() {
        // prompt 0: the second sample scores higher; prompt 1: the first; prompt 2: a tie
        double[] scores = {0.2, 0.9, 0.5, 0.7, 0.1, 0.5};
        double[] logps = {-10, -12, -7, -9, -11, -8};
        double[] refs = {-11, -12.5, -6, -8, -11, -9};
        double[] counts = {5, 6, 4, 5, 6, 4};
        List<OnlineDpoTrainer.Judged> j = OnlineDpoTrainer.judge(SIGMOID, scores, logps, refs, counts);
        assertEquals(3, j.size());
        assertEquals(3, j.get(0).chosen());
        assertEquals(0, j.get(0).rejected());
        assertEquals(1, j.get(1).chosen());
        assertEquals(4, j.get(1).rejected());
        assertEquals(2, j.get(2).chosen(), "a tie chooses the first sample");
        assertEquals(5, j.get(2).rejected());
        // prompt 0 by hand: D = (-9 - -8) - (-10 - -11) = -2; loss = log(1 + e^{0.5 * 2}) = log(1 + e)
        assertEquals(Math.log(1 + Math.E), j.get(0).pair().loss(), 1e-12);
        // dL/dlogp_c = -beta sigmoid(-beta D) = -0.5 e / (1 + e)
        assertEquals(-0.5 * Math.E / (1 + Math.E), j.get(0).pair().dChosen(), 1e-12);
        assertEquals(0.5 * Math.E / (1 + Math.E), j.get(0).pair().dRejected(), 1e-12);
        assertEquals(0.5 * -1, j.get(0).pair().rewardChosen(), 1e-12);
        assertEquals(0.5 * 1, j.get(0).pair().rewardRejected(), 1e-12);
        // prompt 1: D = (-12 - -12.5) - (-11 - -11) = 0.5; loss = log(1 + e^{-0.25})
        assertEquals(Math.log(1 + Math.exp(-0.25)), j.get(1).pair().loss(), 1e-12);
        // every pair equals DpoLoss on its chosen and rejected samples, whatever the loss type
        for (DpoLossType t : List.of(DpoLossType.SIGMOID, DpoLossType.IPO, DpoLossType.HINGE, DpoLossType.ROBUST)) {
            DpoLoss.Settings s = new DpoLoss.Settings(t, 0.5, t == DpoLossType.ROBUST ? 0.1 : 0, 0, 0, 0);
            for (OnlineDpoTrainer.Judged p : OnlineDpoTrainer.judge(s, scores, logps, refs, counts)) {
                int c = p.chosen();
                int r = p.rejected();
                assertEquals(DpoLoss.pair(s, logps[c], logps[r], refs[c], refs[r], counts[c], counts[r]), p.pair(),
                        t.toString());
            }
        }
    }
}
