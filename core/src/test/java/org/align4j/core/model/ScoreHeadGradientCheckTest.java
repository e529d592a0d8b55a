package org.align4j.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;

import org.align4j.core.kernels.GenericKernels;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The scalar-head path (score at the last real token) against finite differences in double
 * precision, for GPT-2 and for a Qwen2-shaped Llama-family model (q/k/v biases, one key/value
 * head for two query heads, LlamaForSequenceClassification's layout: no output layer).
 */
class ScoreHeadGradientCheckTest {

    private static final int[][] SEQS = {{4, 1, 4, 7, 2, 4}, {3, 4, 9}, {8, 2, 6, 5}};

    private static DecoderModel model(boolean llama) {
        DecoderModel m;
        if (llama) {
            LlamaConfig c = new LlamaConfig("qwen2", 11, 8, 12, 2, 2, 1, 1e-6, 10000.0, null, 8, false, true, null,
                    List.of(10));
            LlamaModel l = new LlamaModel(c, new GenericKernels(), DataType.DOUBLE, true, Trainable.ALL).initialize(3);
            l.parameters().get(DecoderModel.SCORE_HEAD).assign(0.3);
            m = l;
        } else {
            m = new GptModel(GptConfig.of(11, 8, 8, 2, 2), new GenericKernels(), DataType.DOUBLE, true).initialize(3);
        }
        m.parameters().flat().muli(8); // larger than the usual init so that every path carries signal
        return m;
    }

    private static double objective(ScoreHead head, TokenBatch b, double[] c, boolean backward) {
        double[] s = head.forward(b);
        double l = 0;
        for (int i = 0; i < s.length; i++) {
            l += c[i] * s[i];
        }
        if (backward) {
            head.model().zeroGradients();
            head.backward(c);
        }
        return l;
    }

    @Test
    void lastRealTokenIsReadInRightAndLeftPaddedBatches() {
        TokenBatch right = TokenBatch.rightPadded(SEQS, 0);
        TokenBatch left = TokenBatch.leftPadded(SEQS, 0);
        assertArrayEquals(new int[] {5, 6 + 2, 12 + 3}, ScoreHead.lastRealRows(right));
        assertArrayEquals(new int[] {5, 11, 17}, ScoreHead.lastRealRows(left));
        for (boolean llama : new boolean[] {false, true}) {
            ScoreHead head = new ScoreHead(model(llama));
            double[] r = head.forward(right);
            double[] l = head.forward(left);
            double[] alone = new double[SEQS.length];
            for (int i = 0; i < SEQS.length; i++) {
                alone[i] = head.forward(TokenBatch.of(new int[][] {SEQS[i]}))[0];
            }
            assertArrayEquals(alone, r, 1e-10, "padding does not change a sequence's score");
            assertArrayEquals(alone, l, 1e-10, "left padding keeps rotary positions right");
        }
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        for (boolean llama : new boolean[] {false, true}) {
            for (boolean leftPadded : new boolean[] {false, true}) {
                check(llama, leftPadded);
            }
        }
    }

    private static void check(boolean llama, boolean leftPadded) {
        {
            DecoderModel m = model(llama);
            ScoreHead head = new ScoreHead(m);
            TokenBatch b = leftPadded ? TokenBatch.leftPadded(SEQS, 0) : TokenBatch.rightPadded(SEQS, 0);
            double[] c = {0.7, -1.3, 0.4};
            objective(head, b, c, true);
            INDArray grad = m.gradients().flat().dup();
            INDArray p = m.parameters().flat();
            SplittableRandom r = new SplittableRandom(11);
            double h = 1e-6;
            double worst = 0;
            int checked = 0;
            for (ParameterSet.Spec s : m.parameters().specs()) {
                long off = m.parameters().offset(s.name());
                for (int k = 0; k < Math.min(8, s.size()); k++) {
                    long i = off + (s.size() <= 8 ? k : r.nextLong(s.size()));
                    double orig = p.getDouble(i);
                    p.putScalar(i, orig + h);
                    double lp = objective(head, b, c, false);
                    p.putScalar(i, orig - h);
                    double lm = objective(head, b, c, false);
                    p.putScalar(i, orig);
                    double numeric = (lp - lm) / (2 * h);
                    double analytic = grad.getDouble(i);
                    double err = Math.abs(numeric - analytic) / Math.max(1e-3, Math.abs(numeric) + Math.abs(analytic));
                    worst = Math.max(worst, err);
                    checked++;
                }
            }
            assertTrue(checked > 100);
            assertTrue(worst < 1e-5, m.family() + ", " + (leftPadded ? "left" : "right") + "-padded: worst relative"
                    + " error " + worst);
            // the head's own gradient is non-zero and the positions of padding get none
            assertTrue(m.gradients().get(DecoderModel.SCORE_HEAD).norm2Number().doubleValue() > 0);
            if (!llama) {
                assertEquals(0.0, m.gradients().get("wpe.weight").getRow(7).norm2Number().doubleValue(), 0.0,
                        "no sequence has 8 tokens, so position 7 is only padding");
            }
        }
    }
}
