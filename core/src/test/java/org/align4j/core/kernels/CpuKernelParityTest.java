package org.align4j.core.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;

import org.align4j.core.model.LlamaConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** The CPU fast path against the generic ND4J-op kernels, kernel by kernel, in fp32. */
class CpuKernelParityTest {

    private static final Kernels generic = new GenericKernels();
    private static final CpuKernels fast = new CpuKernels(generic, 2);
    private final SplittableRandom rng = new SplittableRandom(7);

    @AfterAll
    static void close() {
        fast.close();
    }

    private INDArray rand(long... shape) {
        INDArray a = Nd4j.create(DataType.FLOAT, shape);
        for (long i = 0; i < a.length(); i++) {
            a.putScalar(i, rng.nextGaussian());
        }
        return a;
    }

    /** A view into a larger buffer, as parameters are (non-zero offset). */
    private INDArray randView(long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        INDArray big = rand(n + 13);
        return big.get(NDArrayIndex.interval(13, 13 + n)).reshape(shape);
    }

    private static void close(String what, INDArray expected, INDArray actual, double tol) {
        assertEquals(expected.length(), actual.length());
        double scale = Math.max(1e-3, expected.amaxNumber().doubleValue());
        double diff = expected.sub(actual).amaxNumber().doubleValue();
        assertTrue(diff <= tol * scale, what + ": max |diff| " + diff + " (scale " + scale + ")");
    }

    @Test
    void matmul() {
        for (boolean t : new boolean[] {false, true}) {
            INDArray inp = rand(37, 24);
            INDArray w = t ? randView(19, 24) : randView(24, 19);
            INDArray bias = t ? null : randView(19);
            INDArray a = Nd4j.create(DataType.FLOAT, 37, 19);
            INDArray b = a.ulike();
            generic.matmulForward(a, inp, w, t, bias);
            fast.matmulForward(b, inp, w, t, bias);
            close("matmul forward", a, b, 1e-5);
            INDArray dout = rand(37, 19);
            INDArray dinpA = inp.ulike();
            INDArray dinpB = inp.ulike();
            INDArray dwA = rand(w.shape());
            INDArray dwB = dwA.dup();
            INDArray dbA = t ? null : rand(19);
            INDArray dbB = t ? null : dbA.dup();
            generic.matmulBackward(dinpA, dwA, dbA, dout, inp, w, t);
            fast.matmulBackward(dinpB, dwB, dbB, dout, inp, w, t);
            close("matmul dinp", dinpA, dinpB, 1e-5);
            close("matmul dw", dwA, dwB, 1e-5);
            if (!t) {
                close("matmul db", dbA, dbB, 1e-5);
            }
        }
    }

    @Test
    void matmulOfAFewRowsAgainstALinearWeightInChunks() {
        // {rows, inputs, outputs, bias}: 24 inputs fit every weight row in one 2 MB chunk; 1,024 inputs
        // make chunks of 512 rows, so 3,000 outputs take six, the last one short
        int[][] cases = {{5, 24, 300, 0}, {5, 24, 300, 1}, {3, 1024, 3000, 0}, {8, 1024, 3000, 1}};
        for (int[] c : cases) {
            INDArray inp = rand(c[0], c[1]);
            INDArray w = randView(c[2], c[1]);
            INDArray bias = c[3] == 1 ? randView(c[2]) : null;
            INDArray a = Nd4j.create(DataType.FLOAT, c[0], c[2]);
            INDArray b = a.ulike();
            generic.matmulForward(a, inp, w, true, bias);
            fast.matmulForward(b, inp, w, true, bias);
            close("few-row Linear matmul " + Arrays.toString(c), a, b, 1e-4);
        }
    }

    @Test
    void matmulOfAFewRowsAgainstAConv1dWeightInChunks() {
        // {rows, inputs, outputs, bias}: a [in, out] weight goes by chunks of input rows; 300 outputs fit
        // every input row in one 2 MB chunk; 3,000 outputs make chunks of 174 input rows, so 1,024
        // inputs take six, the last one short, each adding to the output rows (beta 1 after the first)
        int[][] cases = {{2, 24, 300, 0}, {5, 24, 300, 1}, {3, 1024, 3000, 0}, {8, 1024, 3000, 1}, {7, 175, 3000, 1}};
        for (int[] c : cases) {
            INDArray inp = rand(c[0], c[1]);
            INDArray w = randView(c[1], c[2]);
            INDArray bias = c[3] == 1 ? randView(c[2]) : null;
            INDArray a = Nd4j.create(DataType.FLOAT, c[0], c[2]);
            INDArray b = rand(c[0], c[2]); // stale values must be overwritten
            generic.matmulForward(a, inp, w, false, bias);
            fast.matmulForward(b, inp, w, false, bias);
            close("few-row Conv1D matmul " + Arrays.toString(c), a, b, 1e-4);
        }
    }

    @Test
    void matmulOfOneRow() {
        for (boolean t : new boolean[] {false, true}) {
            INDArray inp = rand(1, 24);
            INDArray w = t ? randView(19, 24) : randView(24, 19);
            INDArray bias = randView(19);
            INDArray a = Nd4j.create(DataType.FLOAT, 1, 19);
            INDArray b = a.ulike();
            generic.matmulForward(a, inp, w, t, bias);
            fast.matmulForward(b, inp, w, t, bias);
            close("one-row matmul", a, b, 1e-5);
        }
    }

    @Test
    void layerNorm() {
        INDArray inp = rand(33, 40).muli(3).addi(1);
        INDArray gain = randView(40);
        INDArray bias = randView(40);
        INDArray[] outs = {inp.ulike(), inp.ulike()};
        INDArray[] means = {Nd4j.create(DataType.FLOAT, 33), Nd4j.create(DataType.FLOAT, 33)};
        INDArray[] rstds = {Nd4j.create(DataType.FLOAT, 33), Nd4j.create(DataType.FLOAT, 33)};
        generic.layerNormForward(outs[0], means[0], rstds[0], inp, gain, bias, 1e-5);
        fast.layerNormForward(outs[1], means[1], rstds[1], inp, gain, bias, 1e-5);
        close("layernorm out", outs[0], outs[1], 1e-5);
        close("layernorm mean", means[0], means[1], 1e-5);
        close("layernorm rstd", rstds[0], rstds[1], 1e-5);
        INDArray dout = rand(33, 40);
        INDArray dinpA = rand(33, 40);
        INDArray dinpB = dinpA.dup();
        INDArray dgA = rand(40);
        INDArray dgB = dgA.dup();
        INDArray dbA = rand(40);
        INDArray dbB = dbA.dup();
        generic.layerNormBackward(dinpA, dgA, dbA, dout, inp, gain, means[0], rstds[0]);
        fast.layerNormBackward(dinpB, dgB, dbB, dout, inp, gain, means[0], rstds[0]);
        close("layernorm dinp", dinpA, dinpB, 1e-5);
        close("layernorm dgain", dgA, dgB, 1e-5);
        close("layernorm dbias", dbA, dbB, 1e-5);
    }

    @Test
    void geluAndAdd() {
        INDArray inp = rand(70, 130).muli(4); // more than one 4096-element block
        INDArray a = inp.ulike();
        INDArray b = inp.ulike();
        generic.geluForward(a, inp);
        fast.geluForward(b, inp);
        close("gelu forward", a, b, 1e-6);
        INDArray dout = rand(70, 130);
        generic.geluBackward(a, inp, dout);
        fast.geluBackward(b, inp, dout);
        close("gelu backward", a, b, 5e-6);
        INDArray x = rand(70, 130);
        generic.add(a, inp, x);
        fast.add(b, inp, x);
        close("add", a, b, 0);
        a.assign(x);
        b.assign(x);
        generic.scale(a, 0.37);
        fast.scale(b, 0.37);
        close("scale", a, b, 0);
    }

    @Test
    void llamaLayers() {
        INDArray inp = randView(37, 48);
        INDArray gain = rand(48);
        INDArray a = Nd4j.create(DataType.FLOAT, 37, 48);
        INDArray b = Nd4j.create(DataType.FLOAT, 37, 48);
        INDArray ra = Nd4j.create(DataType.FLOAT, 37);
        INDArray rb = Nd4j.create(DataType.FLOAT, 37);
        generic.rmsNormForward(a, ra, inp, gain, 1e-5);
        fast.rmsNormForward(b, rb, inp, gain, 1e-5);
        close("rmsnorm forward", a, b, 1e-5);
        INDArray dout = rand(37, 48);
        INDArray da = rand(37, 48);
        INDArray db = da.dup();
        INDArray ga = rand(48);
        INDArray gb = ga.dup();
        generic.rmsNormBackward(da, ga, dout, inp, gain, ra);
        fast.rmsNormBackward(db, gb, dout, inp, gain, rb);
        close("rmsnorm dinp", da, db, 2e-5);
        close("rmsnorm dgain", ga, gb, 2e-5);

        int[] positions = new int[37];
        for (int i = 0; i < positions.length; i++) {
            positions[i] = (i * 7) % 301;
        }
        for (boolean inverse : new boolean[] {false, true}) {
            INDArray x = rand(37, 48);
            INDArray y = x.dup();
            generic.rope(x, positions, 4, 12, LlamaConfig.inverseFrequencies(12, 500000.0, null), inverse);
            fast.rope(y, positions, 4, 12, LlamaConfig.inverseFrequencies(12, 500000.0, null), inverse);
            close("rope " + inverse, x, y, 2e-5);
        }

        INDArray gate = rand(37, 48).muli(3);
        INDArray up = rand(37, 48);
        generic.swigluForward(a, gate, up);
        fast.swigluForward(b, gate, up);
        close("swiglu forward", a, b, 1e-5);
        INDArray dga = Nd4j.create(DataType.FLOAT, 37, 48);
        INDArray dgb = Nd4j.create(DataType.FLOAT, 37, 48);
        INDArray dua = Nd4j.create(DataType.FLOAT, 37, 48);
        INDArray dub = Nd4j.create(DataType.FLOAT, 37, 48);
        generic.swigluBackward(dga, dua, dout, gate, up);
        fast.swigluBackward(dgb, dub, dout, gate, up);
        close("swiglu dgate", dga, dgb, 1e-5);
        close("swiglu dup", dua, dub, 1e-5);
    }

    @Test
    void embedding() {
        INDArray wte = randView(50, 16);
        INDArray wpe = randView(20, 16);
        int[] tokens = {3, 49, 3, 0, 7, 3};
        int[] pos = {0, 1, 2, 0, 1, 19};
        INDArray a = Nd4j.create(DataType.FLOAT, 6, 16);
        INDArray b = a.ulike();
        generic.embeddingForward(a, tokens, pos, wte, wpe);
        fast.embeddingForward(b, tokens, pos, wte, wpe);
        close("embedding forward", a, b, 0);
        INDArray dout = rand(6, 16);
        INDArray dwteA = rand(50, 16);
        INDArray dwteB = dwteA.dup();
        INDArray dwpeA = rand(20, 16);
        INDArray dwpeB = dwpeA.dup();
        generic.embeddingBackward(dwteA, dwpeA, dout, tokens, pos);
        fast.embeddingBackward(dwteB, dwpeB, dout, tokens, pos);
        close("embedding dwte", dwteA, dwteB, 1e-6);
        close("embedding dwpe", dwpeA, dwpeB, 1e-6);
    }

    @Test
    void attentionForwardAndBackward() {
        attention(3, 9, 4, 32);
    }

    @Test
    void attentionOverSeveralCausalBlocks() {
        attention(2, 150, 2, 16); // 150 rows: blocks of 64, 64 and 22
    }

    private void attention(int b, int t, int heads, int c) {
        INDArray qkv = rand(b * t, 3 * c);
        INDArray mask = Nd4j.ones(DataType.FLOAT, b, t);
        for (int j = t * 2 / 3; j < t; j++) {
            mask.putScalar(1, j, 0); // right padding
        }
        for (int j = 0; b > 2 && j < 4; j++) {
            mask.putScalar(2, j, 0); // left padding
        }
        INDArray outA = Nd4j.create(DataType.FLOAT, b * t, c);
        INDArray outB = outA.ulike();
        INDArray pA = Nd4j.create(DataType.FLOAT, b, heads, t, t);
        INDArray pB = pA.ulike();
        generic.attentionForward(outA, pA, qkv, mask, b, t, heads);
        fast.attentionForward(outB, pB, qkv, mask, b, t, heads);
        close("attention probs", pA, pB, 1e-5);
        close("attention out", outA, outB, 1e-5);
        INDArray dout = rand(b * t, c);
        INDArray dA = qkv.ulike();
        INDArray dB = qkv.ulike();
        generic.attentionBackward(dA, dout, pA, qkv, b, t, heads);
        fast.attentionBackward(dB, dout, pA, qkv, b, t, heads);
        close("attention dqkv", dA, dB, 1e-5);
    }

    @Test
    void attentionWithCacheOneStepAndPrefill() {
        attentionWithCache(1, 7);   // decoding: matrix-vector path
        attentionWithCache(6, 3);   // prefill: BLAS path
        attentionWithCache(3, 5);
    }

    private void attentionWithCache(int steps, int start) {
        int b = 2;
        int heads = 2;
        int c = 16;
        int capacity = 12;
        INDArray qkv = rand(b * steps, 3 * c);
        INDArray[] kc = {rand(b, capacity, c), null};
        INDArray[] vc = {rand(b, capacity, c), null};
        kc[1] = kc[0].dup();
        vc[1] = vc[0].dup();
        INDArray mask = Nd4j.ones(DataType.FLOAT, b, capacity);
        mask.putScalar(1, 0, 0);
        mask.putScalar(1, 1, 0);
        mask.putScalar(0, start - 1, 0);
        INDArray outA = Nd4j.create(DataType.FLOAT, b * steps, c);
        INDArray outB = outA.ulike();
        generic.attentionWithCache(outA, qkv, kc[0], vc[0], mask, b, steps, start, heads);
        fast.attentionWithCache(outB, qkv, kc[1], vc[1], mask, b, steps, start, heads);
        close("cached attention out", outA, outB, 1e-5);
        close("k cache", kc[0], kc[1], 0);
        close("v cache", vc[0], vc[1], 0);
    }

    @Test
    void groupedAttentionWithCacheAgainstRepeatedHeads() {
        // {batch, steps, start, heads, kvHeads}: decoding and prefill, one key/value head per query head,
        // three query heads per key/value head, one key/value head for all
        int[][] cases = {{3, 1, 7, 6, 6}, {3, 1, 7, 6, 2}, {2, 6, 3, 6, 3}, {2, 3, 5, 4, 1}, {4, 1, 0, 6, 2}};
        for (int[] c : cases) {
            groupedAttentionWithCache(c[0], c[1], c[2], c[3], c[4]);
        }
    }

    /**
     * The grouped kernels (generic and CPU) against the fused kernel of the generic implementation on
     * explicitly repeated key/value heads (Hugging Face's repeat_kv), with left padding in one sequence.
     */
    private void groupedAttentionWithCache(int b, int steps, int start, int heads, int kvHeads) {
        int hs = 4;
        int c = heads * hs;
        int kvw = kvHeads * hs;
        int group = heads / kvHeads;
        int capacity = start + steps + 2;
        INDArray q = rand(b * steps, c);
        INDArray k = rand(b * steps, kvw);
        INDArray v = rand(b * steps, kvw);
        INDArray kc = rand(b, capacity, kvw);
        INDArray vc = rand(b, capacity, kvw);
        // the oracle's fused qkv and caches, each key/value head repeated for its group
        INDArray qkv = Nd4j.create(DataType.FLOAT, b * steps, 3 * c);
        qkv.get(NDArrayIndex.all(), NDArrayIndex.interval(0, c)).assign(q);
        INDArray kcRep = Nd4j.create(DataType.FLOAT, b, capacity, c);
        INDArray vcRep = kcRep.ulike();
        for (int h = 0; h < heads; h++) {
            long src = (long) (h / group) * hs;
            long dst = (long) h * hs;
            qkv.get(NDArrayIndex.all(), NDArrayIndex.interval(c + dst, c + dst + hs))
                    .assign(k.get(NDArrayIndex.all(), NDArrayIndex.interval(src, src + hs)));
            qkv.get(NDArrayIndex.all(), NDArrayIndex.interval(2 * c + dst, 2 * c + dst + hs))
                    .assign(v.get(NDArrayIndex.all(), NDArrayIndex.interval(src, src + hs)));
            kcRep.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(dst, dst + hs))
                    .assign(kc.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(src, src + hs)));
            vcRep.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(dst, dst + hs))
                    .assign(vc.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(src, src + hs)));
        }
        INDArray mask = Nd4j.ones(DataType.FLOAT, b, capacity);
        if (start >= 2) {
            mask.putScalar(1, 0, 0); // left padding
            mask.putScalar(1, 1, 0);
        }
        String what = String.format("grouped cached attention b=%d steps=%d start=%d heads=%d/%d", b, steps, start,
                heads, kvHeads);
        INDArray expected = Nd4j.create(DataType.FLOAT, b * steps, c);
        generic.attentionWithCache(expected, qkv, kcRep, vcRep, mask, b, steps, start, heads);
        for (Kernels kernels : new Kernels[] {generic, fast}) {
            INDArray kcK = kc.dup();
            INDArray vcK = vc.dup();
            INDArray out = rand(b * steps, c);
            kernels.attentionWithCacheGrouped(out, q, k, v, kcK, vcK, mask, b, steps, start, heads, kvHeads);
            close(what + " (" + kernels.name() + ")", expected, out, 1e-5);
            for (int h = 0; h < kvHeads; h++) {
                long col = (long) h * hs;
                close(what + " k cache", kcRep.get(NDArrayIndex.all(), NDArrayIndex.all(),
                        NDArrayIndex.interval((long) h * group * hs, (long) h * group * hs + hs)),
                        kcK.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(col, col + hs)), 0);
                close(what + " v cache", vcRep.get(NDArrayIndex.all(), NDArrayIndex.all(),
                        NDArrayIndex.interval((long) h * group * hs, (long) h * group * hs + hs)),
                        vcK.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(col, col + hs)), 0);
            }
        }
    }

    @Test
    void crossEntropyAndLogProbs() {
        INDArray logits = rand(21, 300).muli(5);
        int[] targets = new int[21];
        float[] weights = new float[21];
        for (int i = 0; i < 21; i++) {
            targets[i] = rng.nextInt(300);
            weights[i] = i % 5 == 0 ? 0f : 1f / 17;
        }
        INDArray dA = logits.ulike();
        INDArray dB = logits.dup(); // in place on the fast path
        double la = generic.crossEntropy(logits, targets, weights, dA);
        double lb = fast.crossEntropy(dB, targets, weights, dB);
        assertEquals(la, lb, 1e-5 * Math.abs(la));
        close("dlogits", dA, dB, 1e-5);
        int[] am = new int[21];
        int[] bm = new int[21];
        generic.argmaxRows(logits, am);
        fast.argmaxRows(logits, bm);
        org.junit.jupiter.api.Assertions.assertArrayEquals(am, bm);
        double[] pa = new double[21];
        double[] pb = new double[21];
        generic.logProbsOf(logits, targets, pa);
        fast.logProbsOf(logits, targets, pb);
        for (int i = 0; i < 21; i++) {
            assertEquals(pa[i], pb[i], 1e-4);
        }
    }

    @Test
    void uploadAndDownloadRoundTrip() {
        float[] values = {1.5f, -2f, 3.25f, 0f, 7f, 8f};
        for (Kernels k : new Kernels[] {generic, fast}) {
            INDArray target = Nd4j.create(DataType.FLOAT, 2, 3);
            k.upload(target, values);
            assertEquals(3.25f, target.getFloat(0, 2));
            float[] back = new float[6];
            k.download(target, back);
            org.junit.jupiter.api.Assertions.assertArrayEquals(values, back);
        }
    }

    @Test
    void doublesGoToTheGenericKernels() {
        INDArray inp = Nd4j.rand(DataType.DOUBLE, 3, 4);
        INDArray a = inp.ulike();
        INDArray b = inp.ulike();
        generic.geluForward(a, inp);
        fast.geluForward(b, inp);
        assertEquals(0.0, a.sub(b).amaxNumber().doubleValue(), 0.0);
    }

    @Test
    void fastExpAndTanh() {
        for (double x = -100; x <= 100; x += 0.0137) {
            float f = (float) x;
            double e = Math.exp(f);
            float got = FastMath.exp(f);
            if (f < -87f) {
                assertTrue(got < 1e-37, "clamped below");
            } else if (f > 88f) {
                assertTrue(got > 1e38 && got < Float.POSITIVE_INFINITY, "clamped above");
            } else {
                assertEquals(e, got, 3e-7 * e, "exp(" + f + ")");
            }
            assertEquals(Math.tanh(f), FastMath.tanh(f), Math.max(1e-7, 1e-6 * Math.abs(Math.tanh(f))),
                    "tanh(" + f + ")");
        }
    }
}
