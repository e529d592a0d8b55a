package org.align4j.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.align4j.core.kernels.CpuKernels;
import org.align4j.core.kernels.GenericKernels;
import org.align4j.core.loss.LanguageModelLoss;
import org.align4j.core.optim.AdamW;
import org.align4j.core.optim.AdamWConfig;
import org.align4j.core.optim.GradientClipping;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/** Two identical runs on the multi-threaded CPU kernels give bit-identical losses (resume depends on it). */
class DeterminismTest {

    private static double[] run() {
        CpuKernels k = new CpuKernels(new GenericKernels(), 2);
        GptModel m = new GptModel(GptConfig.of(97, 64, 32, 2, 4), k, DataType.FLOAT).initialize(5);
        AdamW opt = new AdamW(m.parameters(), new AdamWConfig(0.9, 0.95, 1e-8, 0.1));
        java.util.SplittableRandom r = new java.util.SplittableRandom(1);
        int[][] seqs = new int[6][48];
        int[] targets = new int[6 * 48];
        for (int i = 0; i < targets.length; i++) {
            seqs[i / 48][i % 48] = r.nextInt(97);
            targets[i] = r.nextInt(97);
        }
        float[] mask = new float[targets.length];
        java.util.Arrays.fill(mask, 1f);
        double[] losses = new double[8];
        for (int s = 0; s < losses.length; s++) {
            m.zeroGradients();
            losses[s] = LanguageModelLoss.forwardBackward(m, TokenBatch.of(seqs), targets,
                    LanguageModelLoss.meanWeights(mask));
            GradientClipping.clip(m.gradients(), 1.0);
            opt.step(m.gradients(), 1e-2);
        }
        k.close();
        return losses;
    }

    @Test
    void sameSeedSameLossesBitForBit() {
        double[] first = run();
        // equal NaNs would pass the comparison: the losses must also be real and fall
        for (double l : first) {
            assertTrue(Double.isFinite(l), "finite losses: " + java.util.Arrays.toString(first));
        }
        assertTrue(first[first.length - 1] < first[0], "the loss falls: " + java.util.Arrays.toString(first));
        assertArrayEquals(first, run(), 0.0);
    }
}
