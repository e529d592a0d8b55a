package org.align4j.core.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.align4j.core.kernels.GenericKernels;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.model.GptConfig;
import org.align4j.core.model.GptModel;
import org.align4j.core.model.ParameterSet;
import org.align4j.core.model.TokenBatch;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The entropy of the policy's distribution per row (PPO's entropy bonus) and its gradient, with the
 * log-probability term beside it, against finite differences in double precision at temperature 0.7
 * (three parameters of each tensor); the entropy itself against {@code -Σ p log p} computed from the log-probabilities of
 * every token.
 */
class SequenceLogProbsEntropyTest {

    private static final int[][] SEQS = {{4, 1, 4, 7, 2, 4}, {3, 4, 9}};

    private static DecoderModel model() {
        DecoderModel m = new GptModel(GptConfig.of(11, 8, 8, 2, 2), new GenericKernels(), DataType.DOUBLE, true)
                .initialize(3);
        m.parameters().flat().muli(4);
        return m;
    }

    private static double objective(SequenceLogProbs lp, TokenBatch b, int[] targets, float[] mask, double[] c,
                                     double[] e, double temperature, boolean backward) {
        double[] logp = lp.forwardRows(b, targets, mask, temperature);
        double[] h = lp.entropyRows();
        double l = 0;
        for (int i = 0; i < logp.length; i++) {
            l += c[i] * logp[i] + e[i] * h[i];
        }
        if (backward) {
            lp.backwardRows(c, e);
        }
        return l;
    }

    @Test
    void entropyIsMinusSumPLogP() {
        DecoderModel m = model();
        TokenBatch b = TokenBatch.rightPadded(SEQS, 0);
        int rows = b.batch() * b.time();
        float[] mask = new float[rows];
        java.util.Arrays.fill(mask, 1f);
        mask[rows - 1] = 0f;
        SequenceLogProbs lp = new SequenceLogProbs(m);
        double[][] logp = new double[11][];
        for (int v = 0; v < 11; v++) {
            int[] targets = new int[rows];
            java.util.Arrays.fill(targets, v);
            logp[v] = lp.forwardRows(b, targets, mask, 0.7);
        }
        double[] h = lp.entropyRows();
        for (int i = 0; i < rows; i++) {
            double expected = 0;
            for (int v = 0; v < 11; v++) {
                expected -= Math.exp(logp[v][i]) * logp[v][i];
            }
            assertEquals(mask[i] == 0f ? 0 : expected, h[i], 1e-12, "row " + i);
        }
    }

    @Test
    void gradientMatchesFiniteDifferences() {
        for (double temperature : new double[] {0.7}) {
            DecoderModel m = model();
            TokenBatch b = TokenBatch.rightPadded(SEQS, 0);
            int rows = b.batch() * b.time();
            int[] targets = new int[rows];
            float[] mask = new float[rows];
            double[] c = new double[rows];
            double[] e = new double[rows];
            SplittableRandom r = new SplittableRandom(5);
            for (int i = 0; i < rows; i++) {
                targets[i] = r.nextInt(11);
                mask[i] = i % 6 >= 1 && i != 10 ? 1f : 0f;
                c[i] = r.nextDouble() - 0.5;
                e[i] = r.nextDouble() - 0.5;
            }
            SequenceLogProbs lp = new SequenceLogProbs(m);
            m.zeroGradients();
            objective(lp, b, targets, mask, c, e, temperature, true);
            INDArray grad = m.gradients().flat().dup();
            INDArray p = m.parameters().flat();
            double h = 1e-6;
            double worst = 0;
            int checked = 0;
            for (ParameterSet.Spec s : m.parameters().specs()) {
                long off = m.parameters().offset(s.name());
                for (int k = 0; k < Math.min(3, s.size()); k++) {
                    long i = off + (s.size() <= 3 ? k : r.nextLong(s.size()));
                    double orig = p.getDouble(i);
                    p.putScalar(i, orig + h);
                    double plus = objective(lp, b, targets, mask, c, e, temperature, false);
                    p.putScalar(i, orig - h);
                    double minus = objective(lp, b, targets, mask, c, e, temperature, false);
                    p.putScalar(i, orig);
                    double numeric = (plus - minus) / (2 * h);
                    double analytic = grad.getDouble(i);
                    worst = Math.max(worst, Math.abs(numeric - analytic)
                            / Math.max(1e-3, Math.abs(numeric) + Math.abs(analytic)));
                    checked++;
                }
            }
            assertTrue(checked > 20);
            assertTrue(worst < 1e-5, "temperature " + temperature + ": worst relative error " + worst);
        }
    }
}
