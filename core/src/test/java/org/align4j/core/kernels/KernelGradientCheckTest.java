package org.align4j.core.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.function.Supplier;

import org.align4j.core.model.LlamaConfig;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Each kernel's backward against central finite differences of its forward, in double
 * precision, through the generic kernels (the fast kernels are held to these by parity tests).
 * The scalar checked is {@code L = Σ out ⊙ G} for a fixed random {@code G}.
 */
class KernelGradientCheckTest {

    private static final double H = 1e-6;
    private final Kernels k = new GenericKernels();
    private final SplittableRandom rng = new SplittableRandom(42);

    private INDArray rand(long... shape) {
        INDArray a = Nd4j.create(DataType.DOUBLE, shape);
        for (long i = 0; i < a.length(); i++) {
            a.putScalar(i, rng.nextGaussian());
        }
        return a;
    }

    /** Checks {@code analytic} against d(Σ forward() ⊙ g)/d(x) for every element of x. */
    private static void check(String what, INDArray x, INDArray analytic, INDArray g, Supplier<INDArray> forward) {
        for (long i = 0; i < x.length(); i++) {
            double orig = x.getDouble(i);
            x.putScalar(i, orig + H);
            double lp = forward.get().mul(g).sumNumber().doubleValue();
            x.putScalar(i, orig - H);
            double lm = forward.get().mul(g).sumNumber().doubleValue();
            x.putScalar(i, orig);
            double numeric = (lp - lm) / (2 * H);
            double a = analytic.getDouble(i);
            double err = Math.abs(numeric - a) / Math.max(1e-7, Math.abs(numeric) + Math.abs(a));
            assertTrue(err < 1e-6 || Math.abs(numeric - a) < 1e-8,
                    what + "[" + i + "]: analytic " + a + " numeric " + numeric);
        }
    }

    @Test
    void matmulBothLayouts() {
        for (boolean transposed : new boolean[] {false, true}) {
            INDArray inp = rand(5, 4);
            INDArray w = transposed ? rand(3, 4) : rand(4, 3);
            INDArray bias = transposed ? null : rand(3);
            INDArray out = Nd4j.create(DataType.DOUBLE, 5, 3);
            INDArray g = rand(5, 3);
            INDArray dinp = Nd4j.create(DataType.DOUBLE, 5, 4);
            INDArray dw = Nd4j.zeros(DataType.DOUBLE, w.shape());
            INDArray db = bias == null ? null : Nd4j.zeros(DataType.DOUBLE, 3);
            k.matmulBackward(dinp, dw, db, g, inp, w, transposed);
            Supplier<INDArray> f = () -> {
                k.matmulForward(out, inp, w, transposed, bias);
                return out;
            };
            check("matmul dinp", inp, dinp, g, f);
            check("matmul dw", w, dw, g, f);
            if (bias != null) {
                check("matmul db", bias, db, g, f);
            }
        }
    }

    @Test
    void rmsNorm() {
        INDArray inp = rand(6, 5);
        INDArray gain = rand(5);
        INDArray out = Nd4j.create(DataType.DOUBLE, 6, 5);
        INDArray rstd = Nd4j.create(DataType.DOUBLE, 6);
        INDArray g = rand(6, 5);
        Supplier<INDArray> f = () -> {
            k.rmsNormForward(out, rstd, inp, gain, 1e-6);
            return out;
        };
        f.get();
        INDArray dinp = Nd4j.zeros(DataType.DOUBLE, 6, 5);
        INDArray dgain = Nd4j.zeros(DataType.DOUBLE, 5);
        k.rmsNormBackward(dinp, dgain, g, inp, gain, rstd);
        check("rmsnorm dinp", inp, dinp, g, f);
        check("rmsnorm dgain", gain, dgain, g, f);
    }

    @Test
    void ropeBackwardIsTheInverseRotation() {
        int heads = 3;
        int hs = 4;
        int[] positions = {0, 5, 2, 17};
        INDArray x = rand(4, heads * hs);
        INDArray out = Nd4j.create(DataType.DOUBLE, 4, heads * hs);
        INDArray g = rand(4, heads * hs);
        Supplier<INDArray> f = () -> {
            out.assign(x);
            k.rope(out, positions, heads, hs, LlamaConfig.inverseFrequencies(hs, 10000.0, null), false);
            return out;
        };
        INDArray dx = g.dup();
        k.rope(dx, positions, heads, hs, LlamaConfig.inverseFrequencies(hs, 10000.0, null), true);
        check("rope dx", x, dx, g, f);
        // position 0 is the identity; hand-computed rotation of one pair at position 5, i = 0 (angle 5 rad)
        INDArray y = f.get();
        for (int j = 0; j < heads * hs; j++) {
            assertEquals(x.getDouble(0, j), y.getDouble(0, j), 1e-12);
        }
        double lo = x.getDouble(1, 0);
        double hi = x.getDouble(1, 2);
        assertEquals(lo * Math.cos(5) - hi * Math.sin(5), y.getDouble(1, 0), 1e-12);
        assertEquals(hi * Math.cos(5) + lo * Math.sin(5), y.getDouble(1, 2), 1e-12);
    }

    @Test
    void swiglu() {
        INDArray gate = rand(4, 6).muli(2);
        INDArray up = rand(4, 6);
        INDArray out = Nd4j.create(DataType.DOUBLE, 4, 6);
        INDArray g = rand(4, 6);
        Supplier<INDArray> f = () -> {
            k.swigluForward(out, gate, up);
            return out;
        };
        INDArray dgate = Nd4j.create(DataType.DOUBLE, 4, 6);
        INDArray dup = Nd4j.create(DataType.DOUBLE, 4, 6);
        k.swigluBackward(dgate, dup, g, gate, up);
        check("swiglu dgate", gate, dgate, g, f);
        check("swiglu dup", up, dup, g, f);
    }

    @Test
    void layerNorm() {
        INDArray inp = rand(6, 5);
        INDArray gain = rand(5);
        INDArray bias = rand(5);
        INDArray out = Nd4j.create(DataType.DOUBLE, 6, 5);
        INDArray mean = Nd4j.create(DataType.DOUBLE, 6);
        INDArray rstd = Nd4j.create(DataType.DOUBLE, 6);
        INDArray g = rand(6, 5);
        Supplier<INDArray> f = () -> {
            k.layerNormForward(out, mean, rstd, inp, gain, bias, 1e-5);
            return out;
        };
        f.get();
        INDArray dinp = rand(6, 5);
        INDArray dinpBefore = dinp.dup();
        INDArray dgain = Nd4j.zeros(DataType.DOUBLE, 5);
        INDArray dbias = Nd4j.zeros(DataType.DOUBLE, 5);
        k.layerNormBackward(dinp, dgain, dbias, g, inp, gain, mean, rstd);
        check("layernorm dinp (accumulated)", inp, dinp.sub(dinpBefore), g, f);
        check("layernorm dgain", gain, dgain, g, f);
        check("layernorm dbias", bias, dbias, g, f);
    }

    @Test
    void gelu() {
        INDArray inp = rand(4, 7).muli(3);
        INDArray out = Nd4j.create(DataType.DOUBLE, 4, 7);
        INDArray g = rand(4, 7);
        INDArray dinp = Nd4j.create(DataType.DOUBLE, 4, 7);
        k.geluBackward(dinp, inp, g);
        check("gelu", inp, dinp, g, () -> {
            k.geluForward(out, inp);
            return out;
        });
        // against the formula directly
        k.geluForward(out, inp);
        for (long i = 0; i < inp.length(); i++) {
            double x = inp.getDouble(i);
            double expected = 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
            assertTrue(Math.abs(out.getDouble(i) - expected) < 1e-12);
        }
    }

    @Test
    void attentionWithPadding() {
        int b = 2;
        int t = 5;
        int heads = 2;
        int c = 6;
        INDArray qkv = rand(b * t, 3 * c);
        INDArray mask = Nd4j.create(new double[][] {{1, 1, 1, 1, 1}, {1, 1, 1, 0, 0}});
        INDArray out = Nd4j.create(DataType.DOUBLE, b * t, c);
        INDArray probs = Nd4j.create(DataType.DOUBLE, b, heads, t, t);
        INDArray g = rand(b * t, c);
        Supplier<INDArray> f = () -> {
            k.attentionForward(out, probs, qkv, mask, b, t, heads);
            return out;
        };
        f.get();
        INDArray dqkv = Nd4j.create(DataType.DOUBLE, b * t, 3 * c);
        k.attentionBackward(dqkv, g, probs, qkv, b, t, heads);
        check("attention dqkv", qkv, dqkv, g, f);
        // causality and padding: probabilities on invisible keys are exactly zero
        for (int bi = 0; bi < b; bi++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < t; i++) {
                    double sum = 0;
                    for (int j = 0; j < t; j++) {
                        double p = probs.getDouble(bi, h, i, j);
                        boolean visible = j <= i && (j == i || mask.getDouble(bi, j) != 0);
                        if (!visible) {
                            assertTrue(p == 0.0, "invisible key " + j + " for query " + i + " has p=" + p);
                        }
                        sum += p;
                    }
                    assertTrue(Math.abs(sum - 1) < 1e-12);
                }
            }
        }
    }

    @Test
    void crossEntropy() {
        INDArray logits = rand(4, 6);
        int[] targets = {1, 5, 0, 5};
        float[] weights = {0.5f, 0f, 1f, 0.25f};
        INDArray d = Nd4j.create(DataType.DOUBLE, 4, 6);
        double loss = k.crossEntropy(logits, targets, weights, d);
        double expected = 0;
        for (int i = 0; i < 4; i++) {
            double max = logits.getRow(i).maxNumber().doubleValue();
            double sum = 0;
            for (int j = 0; j < 6; j++) {
                sum += Math.exp(logits.getDouble(i, j) - max);
            }
            expected -= weights[i] * (logits.getDouble(i, targets[i]) - max - Math.log(sum));
        }
        assertTrue(Math.abs(loss - expected) < 1e-12, loss + " vs " + expected);
        INDArray scratch = d.ulike();
        for (long i = 0; i < logits.length(); i++) {
            double orig = logits.getDouble(i);
            logits.putScalar(i, orig + H);
            double lp = k.crossEntropy(logits, targets, weights, scratch);
            logits.putScalar(i, orig - H);
            double lm = k.crossEntropy(logits, targets, weights, scratch);
            logits.putScalar(i, orig);
            assertTrue(Math.abs((lp - lm) / (2 * H) - d.getDouble(i)) < 1e-8);
        }
        double[] lp = new double[4];
        k.logProbsOf(logits, targets, lp);
        assertTrue(Math.abs(-(0.5 * lp[0] + lp[2] + 0.25 * lp[3]) - loss) < 1e-12);
    }

    @Test
    void embeddingRepeatedTokensAccumulate() {
        INDArray wte = rand(5, 3);
        INDArray wpe = rand(4, 3);
        int[] tokens = {2, 2, 4, 2};
        int[] positions = {0, 1, 2, 3};
        INDArray out = Nd4j.create(DataType.DOUBLE, 4, 3);
        INDArray g = rand(4, 3);
        INDArray dwte = Nd4j.zeros(DataType.DOUBLE, 5, 3);
        INDArray dwpe = Nd4j.zeros(DataType.DOUBLE, 4, 3);
        k.embeddingBackward(dwte, dwpe, g, tokens, positions);
        Supplier<INDArray> f = () -> {
            k.embeddingForward(out, tokens, positions, wte, wpe);
            return out;
        };
        check("embedding dwte", wte, dwte, g, f);
        check("embedding dwpe", wpe, dwpe, g, f);
    }
}
