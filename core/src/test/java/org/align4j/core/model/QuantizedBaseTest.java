package org.align4j.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
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
 * QLoRA's quantized base: int8 and NF4 against hand-checkable properties (int8 within half a step
 * of its block's scale, every NF4 value the nearest code times the block's absmax, found here by
 * brute force), and a model on a quantized base against an fp32 model holding the dequantized
 * weights: the same logits and the same adapter gradients; the block matrices are not in the
 * parameter buffer at all.
 */
class QuantizedBaseTest {

    private static final GptConfig CFG = GptConfig.of(13, 8, 16, 2, 2);
    private static final LoraConfig LORA = new LoraConfig(2, 4.0, List.of("c_attn", "c_fc"));

    private static float[] gaussian(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextGaussian() * (i % 97 == 0 ? 3 : 0.5));
        }
        return v;
    }

    @Test
    void int8AndNf4RoundTrips() {
        int n = 64 * 5 + 10; // a short last block
        float[] v = gaussian(n, 1);
        for (QuantizedWeights.Kind kind : QuantizedWeights.Kind.values()) {
            QuantizedWeights q = new QuantizedWeights(kind);
            q.put("w", new long[] {n}, v);
            float[] back = new float[n];
            q.dequantize("w", back);
            for (int b = 0; b * 64 < n; b++) {
                float absmax = 0;
                for (int i = b * 64; i < Math.min(n, b * 64 + 64); i++) {
                    absmax = Math.max(absmax, Math.abs(v[i]));
                }
                for (int i = b * 64; i < Math.min(n, b * 64 + 64); i++) {
                    if (kind == QuantizedWeights.Kind.INT8) {
                        assertTrue(Math.abs(back[i] - v[i]) <= absmax / 127 / 2 * 1.0001, "int8 " + i);
                    } else {
                        float x = v[i] / absmax;
                        int best = 0;
                        for (int c = 1; c < 16; c++) {
                            if (Math.abs(x - QuantizedWeights.NF4[c]) < Math.abs(x - QuantizedWeights.NF4[best])) {
                                best = c;
                            }
                        }
                        assertEquals(QuantizedWeights.NF4[best] * absmax, back[i], 1e-6f * absmax, "nf4 " + i);
                    }
                }
            }
        }
        QuantizedWeights nf4 = new QuantizedWeights(QuantizedWeights.Kind.NF4);
        nf4.put("w", new long[] {n}, v);
        assertEquals((n + 1) / 2 + 4L * 6, nf4.bytes(), "two values a byte, one float scale per block");
    }

    static List<Kernels> kernels() {
        return GoldenFixtures.kernels().toList();
    }

    private static final LlamaConfig LLAMA = new LlamaConfig("llama", 13, 16, 24, 2, 4, 2, 1e-6, 10000.0, null, 8,
            true, false, null, List.of(12));
    private static final LoraConfig LLAMA_LORA = new LoraConfig(2, 4.0, List.of("q_proj", "v_proj", "down_proj"));

    @ParameterizedTest
    @MethodSource("kernels")
    void aQuantizedBaseBehavesAsTheDequantizedWeights(Kernels k) {
        for (QuantizedWeights.Kind kind : QuantizedWeights.Kind.values()) {
            compare(kind, new GptModel(CFG, k, DataType.FLOAT).initialize(3),
                    new GptModel(CFG, k, DataType.FLOAT, false, Trainable.ALL, LORA, kind),
                    new GptModel(CFG, k, DataType.FLOAT, false, Trainable.ALL, LORA));
        }
    }

    /** The same for the Llama family's seven Linear projections (tied embedding, grouped-query attention). */
    @ParameterizedTest
    @MethodSource("kernels")
    void aQuantizedLlamaBaseBehavesAsTheDequantizedWeights(Kernels k) {
        for (QuantizedWeights.Kind kind : QuantizedWeights.Kind.values()) {
            compare(kind, new LlamaModel(LLAMA, k, DataType.FLOAT).initialize(3),
                    new LlamaModel(LLAMA, k, DataType.FLOAT, false, Trainable.ALL, LLAMA_LORA, kind),
                    new LlamaModel(LLAMA, k, DataType.FLOAT, false, Trainable.ALL, LLAMA_LORA));
        }
    }

    /** DoRA (with rsLoRA) reads the frozen weight for its norms and its extra product: dequantized, the same as fp32's. */
    @Test
    void doraOnAQuantizedBaseBehavesAsOnTheDequantizedWeights() {
        Kernels k = new GenericKernels();
        LoraConfig dora = new LoraConfig(2, 4.0, LORA.targets(), 0, true, true);
        LoraConfig llamaDora = new LoraConfig(2, 4.0, LLAMA_LORA.targets(), 0, true, true);
        for (QuantizedWeights.Kind kind : QuantizedWeights.Kind.values()) {
            compare(kind, new GptModel(CFG, k, DataType.FLOAT).initialize(3),
                    new GptModel(CFG, k, DataType.FLOAT, false, Trainable.ALL, dora, kind),
                    new GptModel(CFG, k, DataType.FLOAT, false, Trainable.ALL, dora));
            compare(kind, new LlamaModel(LLAMA, k, DataType.FLOAT).initialize(3),
                    new LlamaModel(LLAMA, k, DataType.FLOAT, false, Trainable.ALL, llamaDora, kind),
                    new LlamaModel(LLAMA, k, DataType.FLOAT, false, Trainable.ALL, llamaDora));
        }
    }

    private static void compare(QuantizedWeights.Kind kind, DecoderModel base, DecoderModel q, DecoderModel ref) {
        {
            assertEquals(base instanceof GptModel ? 2 * 4 : 2 * 7, q.missingQuantized().size());
            for (String n : base.parameters().names()) {
                INDArray w = base.parameters().get(n);
                if (q.keepsQuantized(n)) {
                    assertFalse(q.parameters().has(n), "not in the fp32 buffer: " + n);
                    q.quantized().put(n, w.shape(), w.dup().data().asFloat());
                    float[] deq = new float[(int) w.length()];
                    q.quantized().dequantize(n, deq);
                    ref.parameters().get(n).assign(Nd4j.create(deq, w.shape(), DataType.FLOAT));
                } else {
                    q.parameters().get(n).assign(w);
                    ref.parameters().get(n).assign(w);
                }
            }
            assertEquals(List.of(), q.missingQuantized());
            q.initializeAdapters(5);
            ref.initializeAdapters(5);
            SplittableRandom r = new SplittableRandom(2);
            for (String n : q.trainableParameters().names()) {
                if (n.contains("lora_B")) {
                    INDArray b = q.parameters().get(n);
                    float[] x = new float[(int) b.length()];
                    for (int i = 0; i < x.length; i++) {
                        x[i] = (float) r.nextGaussian() * 0.2f;
                    }
                    b.assign(Nd4j.create(x, b.shape(), DataType.FLOAT));
                    ref.parameters().get(n).assign(b);
                }
            }
            TokenBatch batch = TokenBatch.rightPadded(new int[][] {{3, 1, 4, 1, 5, 9}, {2, 6, 5}}, 0);
            int[] targets = {1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9};
            float[] weights = new float[targets.length];
            Arrays.fill(weights, 1f / targets.length);
            q.zeroGradients();
            ref.zeroGradients();
            double lq = LanguageModelLoss.forwardBackward(q, batch, targets, weights);
            double lr = LanguageModelLoss.forwardBackward(ref, batch, targets, weights);
            assertEquals(lr, lq, 1e-5, kind + " loss");
            for (String n : q.trainableParameters().names()) {
                INDArray want = ref.gradients().get(n);
                double scale = Math.max(1e-6, want.amaxNumber().doubleValue());
                assertEquals(0, q.gradients().get(n).sub(want).amaxNumber().doubleValue() / scale, 1e-4,
                        kind + " grad " + n);
            }
        }
    }
}
