package org.align4j.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import org.align4j.core.kernels.GenericKernels;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.loss.LanguageModelLoss;
import org.align4j.core.testing.GoldenFixtures;

/**
 * LoRA against independent oracles: at initialisation (B = 0) and with the adapters switched off
 * the model is its base exactly; with trained-looking adapters its forward equals the forward of
 * the merged weights W + (alpha/r) Aᵀ Bᵀ; the gradients of A and B equal finite differences in
 * double; KV-cache decoding equals the full forward; the base gets no gradient.
 */
class LoraTest {

    private static final GptConfig CFG = GptConfig.of(13, 8, 12, 2, 2);
    private static final LoraConfig LORA = new LoraConfig(3, 6.0, List.of("c_attn", "c_proj", "c_fc"));
    private static final TokenBatch BATCH = TokenBatch.rightPadded(new int[][] {{3, 1, 4, 1, 5, 9}, {2, 6, 5}}, 0);

    static List<Kernels> kernels() {
        return GoldenFixtures.kernels().toList();
    }

    private static GptModel withLora(GptModel base, Kernels k, DataType type, long seed) {
        GptModel m = new GptModel(CFG, k, type, false, Trainable.ALL, LORA);
        for (String n : base.parameters().names()) {
            m.parameters().get(n).assign(base.parameters().get(n));
        }
        return m.initializeAdapters(seed);
    }

    /** B random too, as after training. */
    private static void randomizeB(GptModel m, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        for (String n : m.parameters().names()) {
            if (n.contains("lora_B")) {
                INDArray v = m.parameters().get(n);
                double[] x = new double[(int) v.length()];
                for (int i = 0; i < x.length; i++) {
                    x[i] = r.nextGaussian() * 0.3;
                }
                v.assign(Nd4j.create(x, v.shape(), DataType.DOUBLE).castTo(v.dataType()));
            }
        }
    }

    @ParameterizedTest
    @MethodSource("kernels")
    void startsAtTheBaseSwitchesOffAndEqualsTheMergedModel(Kernels k) {
        GptModel base = new GptModel(CFG, k, DataType.FLOAT).initialize(2);
        INDArray want = base.forward(BATCH).dup();
        GptModel lora = withLora(base, k, DataType.FLOAT, 5);
        assertEquals(want, lora.forward(BATCH), "B = 0: exactly the base");
        randomizeB(lora, 9);
        INDArray adapted = lora.forward(BATCH).dup();
        assertTrue(adapted.sub(want).amaxNumber().doubleValue() > 1e-3, "the adapters change the output");
        lora.setAdaptersEnabled(false);
        assertEquals(want, lora.forward(BATCH), "adapters off: exactly the base");
        lora.setAdaptersEnabled(true);

        GptModel merged = new GptModel(CFG, k, DataType.FLOAT);
        for (String n : base.parameters().names()) {
            merged.parameters().get(n).assign(lora.parameters().get(n));
        }
        // W + s Aᵀ Bᵀ computed here independently of the adapter code
        for (int l = 0; l < CFG.nLayer(); l++) {
            for (LoraConfig.Target t : LORA.modules()) {
                INDArray a = lora.parameters().get(LoraConfig.aName(l, t));
                INDArray b = lora.parameters().get(LoraConfig.bName(l, t));
                merged.parameters().get("h." + l + "." + t.module + ".weight")
                        .addi(a.transpose().mmul(b.transpose()).muli(LORA.scale()));
            }
        }
        double diff = merged.forward(BATCH).sub(adapted).amaxNumber().doubleValue();
        assertTrue(diff < 1e-4, "LoRA forward equals the merged model's: " + diff);
        lora.mergeAdaptersIntoBase();
        for (int l = 0; l < CFG.nLayer(); l++) {
            String w = "h." + l + ".mlp.c_fc.weight";
            assertTrue(lora.parameters().get(w).sub(merged.parameters().get(w)).amaxNumber().doubleValue() < 1e-6);
        }
    }

    @Test
    void gradientsOfAAndBMatchFiniteDifferences() {
        GptModel base = new GptModel(CFG, new GenericKernels(), DataType.DOUBLE).initialize(3);
        base.parameters().flat().muli(5);
        GptModel m = withLora(base, new GenericKernels(), DataType.DOUBLE, 4);
        randomizeB(m, 6);
        int[] targets = new int[BATCH.rows()];
        float[] weights = new float[BATCH.rows()];
        SplittableRandom r = new SplittableRandom(8);
        for (int i = 0; i < targets.length; i++) {
            targets[i] = r.nextInt(CFG.vocabSize());
            weights[i] = i % 5 == 4 ? 0f : 1f / targets.length;
        }
        m.zeroGradients();
        LanguageModelLoss.forwardBackward(m, BATCH, targets, weights);
        for (ParameterSet.Spec s : m.parameters().specs()) {
            INDArray g = m.gradients().getOrNull(s.name());
            if (!s.name().contains(".lora_")) {
                assertNull(g, "the frozen base has no gradient: " + s.name());
                continue;
            }
            INDArray p = m.parameters().get(s.name()).reshape(s.size());
            INDArray gf = g.reshape(s.size());
            for (int trial = 0; trial < 6; trial++) {
                long i = r.nextLong(s.size());
                double h = 1e-5;
                double orig = p.getDouble(i);
                p.putScalar(i, orig + h);
                double up = LanguageModelLoss.evaluate(m, BATCH, targets, weights, null);
                p.putScalar(i, orig - h);
                double down = LanguageModelLoss.evaluate(m, BATCH, targets, weights, null);
                p.putScalar(i, orig);
                double fd = (up - down) / (2 * h);
                double an = gf.getDouble(i);
                assertEquals(fd, an, 1e-7 + 1e-5 * Math.abs(fd), s.name() + "[" + i + "]");
            }
        }
    }

    @ParameterizedTest
    @MethodSource("kernels")
    void cachedDecodingEqualsTheFullForward(Kernels k) {
        GptModel base = new GptModel(CFG, k, DataType.FLOAT).initialize(2);
        GptModel m = withLora(base, k, DataType.FLOAT, 5);
        randomizeB(m, 1);
        int[] seq = {3, 1, 4, 1, 5};
        INDArray full = m.forward(TokenBatch.of(new int[][] {seq})).dup();
        KvCache cache = m.newCache(1, seq.length);
        cache.setMasks(new float[] {1, 1, 1}, 3);
        INDArray first = m.forwardCached(cache, new int[] {3, 1, 4}, new int[] {0, 1, 2}, 3).dup();
        assertTrue(first.sub(full.getRow(2)).amaxNumber().doubleValue() < 1e-4);
        for (int t = 3; t < seq.length; t++) {
            cache.setMasks(new float[] {1}, 1);
            INDArray next = m.forwardCached(cache, new int[] {seq[t]}, new int[] {t}, 1);
            assertTrue(next.sub(full.getRow(t)).amaxNumber().doubleValue() < 1e-4, "position " + t);
        }
    }
}
