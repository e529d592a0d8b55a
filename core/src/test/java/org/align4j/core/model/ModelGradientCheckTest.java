package org.align4j.core.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.align4j.core.kernels.GenericKernels;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Whole-model finite differences in double precision: tied embeddings, repeated tokens, padding. */
class ModelGradientCheckTest {

    private static double loss(GptModel m, TokenBatch b, int[] targets, float[] weights, boolean backward) {
        INDArray logits = m.forward(b);
        INDArray d = logits.dup();
        double l = m.kernels().crossEntropy(logits, targets, weights, d);
        if (backward) {
            m.zeroGradients();
            m.backward(d);
        }
        return l;
    }

    @Test
    void gradientsMatchFiniteDifferencesWithPaddingAndRepeatedTokens() {
        GptConfig cfg = GptConfig.of(11, 8, 8, 2, 2);
        GptModel m = new GptModel(cfg, new GenericKernels(), DataType.DOUBLE).initialize(3);
        // larger weights than GPT-2's init so that every path carries signal
        m.parameters().flat().muli(10);
        m.parameters().get("ln_f.weight").assign(1.3);
        // token 4 repeats within and across sequences; the second sequence is right-padded
        int[][] seqs = {{4, 1, 4, 7, 2, 4}, {3, 4, 9, 5}};
        TokenBatch b = TokenBatch.rightPadded(seqs, 0);
        int[] targets = new int[b.rows()];
        float[] weights = new float[b.rows()];
        SplittableRandom r = new SplittableRandom(5);
        for (int i = 0; i < targets.length; i++) {
            targets[i] = r.nextInt(cfg.vocabSize());
            weights[i] = b.keyMask()[i] == 0 ? 0f : 0.1f;
        }
        loss(m, b, targets, weights, true);
        INDArray grad = m.gradients().flat().dup();
        INDArray p = m.parameters().flat();
        double h = 1e-6;
        double worst = 0;
        int checked = 0;
        for (ParameterSet.Spec s : m.parameters().specs()) {
            long off = m.parameters().offset(s.name());
            for (int k = 0; k < Math.min(12, s.size()); k++) {
                long i = off + (s.size() <= 12 ? k : r.nextLong(s.size()));
                double orig = p.getDouble(i);
                p.putScalar(i, orig + h);
                double lp = loss(m, b, targets, weights, false);
                p.putScalar(i, orig - h);
                double lm = loss(m, b, targets, weights, false);
                p.putScalar(i, orig);
                double numeric = (lp - lm) / (2 * h);
                double analytic = grad.getDouble(i);
                double err = Math.abs(numeric - analytic) / Math.max(1e-6, Math.abs(numeric) + Math.abs(analytic));
                worst = Math.max(worst, err);
                assertTrue(err < 1e-5, s.name() + "[" + (i - off) + "]: analytic " + analytic + " numeric " + numeric);
                checked++;
            }
        }
        assertTrue(checked > 100);
        assertTrue(worst < 1e-5);
    }

    @Test
    void hiddenStateEntryPointMatchesFiniteDifferences() {
        // the path reward and value heads use: L = sum(hidden * G) for a fixed G
        GptConfig cfg = GptConfig.of(9, 6, 8, 1, 2);
        GptModel m = new GptModel(cfg, new GenericKernels(), DataType.DOUBLE).initialize(4);
        m.parameters().flat().muli(10);
        m.parameters().get("ln_f.weight").assign(0.7);
        TokenBatch b = TokenBatch.leftPadded(new int[][] {{1, 2, 3, 2}, {5, 5}}, 0);
        INDArray g = org.nd4j.linalg.factory.Nd4j.rand(DataType.DOUBLE, b.rows(), cfg.nEmbd()).subi(0.5);
        m.zeroGradients();
        m.forwardHidden(b);
        m.backwardHidden(g);
        INDArray grad = m.gradients().flat().dup();
        INDArray p = m.parameters().flat();
        SplittableRandom r = new SplittableRandom(1);
        double h = 1e-6;
        for (int k = 0; k < 60; k++) {
            long i = r.nextLong(p.length());
            double orig = p.getDouble(i);
            p.putScalar(i, orig + h);
            double lp = m.forwardHidden(b).mul(g).sumNumber().doubleValue();
            p.putScalar(i, orig - h);
            double lm = m.forwardHidden(b).mul(g).sumNumber().doubleValue();
            p.putScalar(i, orig);
            double numeric = (lp - lm) / (2 * h);
            double analytic = grad.getDouble(i);
            assertTrue(Math.abs(numeric - analytic) <= 1e-6 * Math.max(1, Math.abs(numeric)),
                    "param " + i + ": analytic " + analytic + " numeric " + numeric);
        }
    }

    @Test
    void paddingDoesNotLeakIntoRealTokens() {
        GptConfig cfg = GptConfig.of(11, 8, 8, 2, 2);
        GptModel m = new GptModel(cfg, new GenericKernels(), DataType.DOUBLE).initialize(3);
        m.parameters().flat().muli(10);
        INDArray alone = m.forward(TokenBatch.of(new int[][] {{3, 4, 9, 5}})).dup();
        for (int pad : new int[] {0, 7}) {
            INDArray right = m.forward(TokenBatch.rightPadded(new int[][] {{3, 4, 9, 5}, {1, 2, 3, 4, 5, 6}}, pad));
            for (int t = 0; t < 4; t++) {
                assertTrue(right.getRow(t).sub(alone.getRow(t)).amaxNumber().doubleValue() < 1e-12);
            }
            INDArray left = m.forward(TokenBatch.leftPadded(new int[][] {{3, 4, 9, 5}, {1, 2, 3, 4, 5, 6}}, pad));
            for (int t = 0; t < 4; t++) {
                assertTrue(left.getRow(2 + t).sub(alone.getRow(t)).amaxNumber().doubleValue() < 1e-12,
                        "left-padded row " + t);
            }
        }
    }
}
