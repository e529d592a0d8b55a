package org.align4j.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import org.align4j.core.kernels.GenericKernels;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.loss.LanguageModelLoss;
import org.align4j.core.testing.GoldenFixtures;
import org.align4j.core.util.UserInputException;

/**
 * LoRA against independent oracles, for GPT-2 (Conv1D weights) and a Qwen2-shaped Llama-family
 * model (Linear weights, q/k/v biases, grouped-query attention, adapters on all seven
 * projections): at initialisation (B = 0) and with the adapters switched off the model is its base
 * exactly; with trained-looking adapters its forward equals the forward of weights merged here by
 * hand (W + s Aᵀ Bᵀ for Conv1D, W + s B A for Linear); the gradients of A and B equal finite
 * differences in double; KV-cache decoding equals the full forward; the base gets no gradient.
 */
class LoraTest {

    enum Family { GPT2, LLAMA }

    private static final GptConfig GPT = GptConfig.of(13, 8, 12, 2, 2);
    private static final LlamaConfig LLAMA = new LlamaConfig("qwen2", 13, 16, 24, 2, 4, 2, 1e-6, 10000.0, null, 8,
            false, true, null, List.of(12));
    private static final LoraConfig GPT_LORA = new LoraConfig(3, 6.0, List.of("c_attn", "c_proj", "c_fc"));
    private static final LoraConfig LLAMA_LORA = new LoraConfig(3, 6.0, List.of("q_proj", "k_proj", "v_proj",
            "o_proj", "gate_proj", "up_proj", "down_proj"));
    private static final TokenBatch BATCH = TokenBatch.rightPadded(new int[][] {{3, 1, 4, 1, 5, 9}, {2, 6, 5}}, 0);

    static Stream<Arguments> familiesAndKernels() {
        List<Arguments> out = new ArrayList<>();
        for (Family f : Family.values()) {
            GoldenFixtures.kernels().forEach(k -> out.add(Arguments.of(f, k)));
        }
        return out.stream();
    }

    private static DecoderModel model(Family f, Kernels k, DataType type, LoraConfig lora) {
        return f == Family.GPT2 ? new GptModel(GPT, k, type, false, Trainable.ALL, lora)
                : new LlamaModel(LLAMA, k, type, false, Trainable.ALL, lora);
    }

    private static DecoderModel base(Family f, Kernels k, DataType type, long seed) {
        DecoderModel m = model(f, k, type, null);
        return f == Family.GPT2 ? ((GptModel) m).initialize(seed) : ((LlamaModel) m).initialize(seed);
    }

    private static DecoderModel withLora(Family f, DecoderModel base, Kernels k, DataType type, long seed) {
        DecoderModel m = model(f, k, type, f == Family.GPT2 ? GPT_LORA : LLAMA_LORA);
        for (String n : base.parameters().names()) {
            m.parameters().get(n).assign(base.parameters().get(n));
        }
        return m.initializeAdapters(seed);
    }

    /** B random too, as after training. */
    private static void randomizeB(DecoderModel m, long seed) {
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
    @MethodSource("familiesAndKernels")
    void startsAtTheBaseSwitchesOffAndEqualsTheMergedModel(Family f, Kernels k) {
        DecoderModel base = base(f, k, DataType.FLOAT, 2);
        INDArray want = base.forward(BATCH).dup();
        DecoderModel lora = withLora(f, base, k, DataType.FLOAT, 5);
        assertEquals(want, lora.forward(BATCH), "B = 0: exactly the base");
        randomizeB(lora, 9);
        INDArray adapted = lora.forward(BATCH).dup();
        assertTrue(adapted.sub(want).amaxNumber().doubleValue() > 1e-3, "the adapters change the output");
        lora.setAdaptersEnabled(false);
        assertEquals(want, lora.forward(BATCH), "adapters off: exactly the base");
        lora.setAdaptersEnabled(true);

        DecoderModel merged = model(f, k, DataType.FLOAT, null);
        for (String n : base.parameters().names()) {
            merged.parameters().get(n).assign(lora.parameters().get(n));
        }
        // the merge computed here from the tensor names alone, independently of the adapter code
        int adapters = 0;
        for (String n : lora.parameters().names()) {
            if (!n.endsWith(".lora_A.weight")) {
                continue;
            }
            String module = n.substring(0, n.length() - ".lora_A.weight".length());
            INDArray a = lora.parameters().get(n);
            INDArray b = lora.parameters().get(module + ".lora_B.weight");
            INDArray delta = f == Family.GPT2 ? a.transpose().mmul(b.transpose()) : b.mmul(a);
            merged.parameters().get(module + ".weight").addi(delta.muli(6.0 / 3));
            adapters++;
        }
        assertEquals(f == Family.GPT2 ? 2 * 4 : 2 * 7, adapters);
        double diff = merged.forward(BATCH).sub(adapted).amaxNumber().doubleValue();
        assertTrue(diff < 1e-4, "LoRA forward equals the merged model's: " + diff);
        DecoderModel plain = lora.merged();
        assertEquals(null, plain.lora());
        assertTrue(plain.forward(BATCH).sub(adapted).amaxNumber().doubleValue() < 1e-4, "merge");
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    void gradientsOfAAndBMatchFiniteDifferences(Family f) {
        DecoderModel base = base(f, new GenericKernels(), DataType.DOUBLE, 3);
        base.parameters().flat().muli(5);
        DecoderModel m = withLora(f, base, new GenericKernels(), DataType.DOUBLE, 4);
        randomizeB(m, 6);
        int[] targets = new int[BATCH.rows()];
        float[] weights = new float[BATCH.rows()];
        SplittableRandom r = new SplittableRandom(8);
        for (int i = 0; i < targets.length; i++) {
            targets[i] = r.nextInt(13);
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
                double h = 1e-6;
                double orig = p.getDouble(i);
                p.putScalar(i, orig + h);
                double up = LanguageModelLoss.evaluate(m, BATCH, targets, weights, null);
                p.putScalar(i, orig - h);
                double down = LanguageModelLoss.evaluate(m, BATCH, targets, weights, null);
                p.putScalar(i, orig);
                double fd = (up - down) / (2 * h);
                double an = gf.getDouble(i);
                assertEquals(fd, an, 1e-7 + 1e-5 * Math.abs(fd), f + " " + s.name() + "[" + i + "]");
            }
        }
    }

    @ParameterizedTest
    @MethodSource("familiesAndKernels")
    void cachedDecodingEqualsTheFullForward(Family f, Kernels k) {
        DecoderModel base = base(f, k, DataType.FLOAT, 2);
        DecoderModel m = withLora(f, base, k, DataType.FLOAT, 5);
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

    @Test
    void targetsAreMatchedAsPeftMatchesThemAndUnknownOnesAreNamed() {
        List<LoraConfig.Module> gpt = GptModel.loraModules(GPT);
        assertEquals(List.of(1, 3), new LoraConfig(2, 4, List.of("c_proj")).select(gpt, "GPT-2"));
        assertEquals(List.of(1), new LoraConfig(2, 4, List.of("attn.c_proj")).select(gpt, "GPT-2"));
        assertEquals(List.of(0, 2), new LoraConfig(2, 4, List.of("v_proj", "q_proj"))
                .select(LlamaModel.loraModules(LLAMA), "qwen2"));
        UserInputException e = assertThrows(UserInputException.class,
                () -> new LoraConfig(2, 4, List.of("q_proj")).select(gpt, "GPT-2"));
        assertTrue(e.getMessage().contains("unknown module 'q_proj'") && e.getMessage().contains("attn.c_attn"),
                e.getMessage());
    }
}
