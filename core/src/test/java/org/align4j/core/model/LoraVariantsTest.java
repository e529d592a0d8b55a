package org.align4j.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import org.align4j.core.checkpoint.PeftAdapter;
import org.align4j.core.checkpoint.Safetensors;
import org.align4j.core.kernels.GenericKernels;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.loss.LanguageModelLoss;
import org.align4j.core.optim.AdamW;
import org.align4j.core.optim.AdamWConfig;
import org.align4j.core.util.Json;

/**
 * PEFT's LoRA variants (lora_dropout, use_rslora, use_dora) for GPT-2 (Conv1D) and a
 * Qwen2-shaped Llama-family model (Linear, q/k/v biases), against independent oracles: the
 * gradients of A, B and DoRA's magnitude equal finite differences in double (with dropout, under
 * one step's masks, DoRA's detached norms held as PEFT detaches them); at initialisation the model is its base; the merged model's forward equals
 * the adapted one; KV-cache decoding equals the full forward; dropout's masks average out to the
 * undropped adapter (inverted dropout), are redrawn from the same step seed identically and never
 * touch a forward outside a training step; the adapter round-trips through PEFT's files with
 * PEFT's keys and tensor names. The PyTorch fixture for DoRA with rsLoRA is
 * {@link DoraPyTorchGoldenTest}.
 */
class LoraVariantsTest {

    enum Family { GPT2, LLAMA }

    enum Variant {
        DROPOUT(0.3, false, false), RSLORA_DORA(0, true, true), DORA_DROPOUT(0.3, false, true);

        final double dropout;
        final boolean rslora;
        final boolean dora;

        Variant(double dropout, boolean rslora, boolean dora) {
            this.dropout = dropout;
            this.rslora = rslora;
            this.dora = dora;
        }
    }

    private static final GptConfig GPT = GptConfig.of(13, 8, 12, 2, 2);
    private static final LlamaConfig LLAMA = new LlamaConfig("qwen2", 13, 16, 24, 2, 4, 2, 1e-6, 10000.0, null, 8,
            false, true, null, List.of(12));
    private static final TokenBatch BATCH = TokenBatch.rightPadded(new int[][] {{3, 1, 4, 1, 5, 9}, {2, 6, 5}}, 0);

    private static LoraConfig config(Family f, Variant v) {
        List<String> targets = f == Family.GPT2 ? List.of("c_attn", "c_proj", "c_fc")
                : List.of("q_proj", "v_proj", "o_proj", "down_proj");
        return new LoraConfig(3, 6.0, targets, v.dropout, v.rslora, v.dora);
    }

    static Stream<Arguments> familiesAndVariants() {
        List<Arguments> out = new ArrayList<>();
        for (Family f : Family.values()) {
            for (Variant v : Variant.values()) {
                out.add(Arguments.of(f, v));
            }
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

    /** Adapters with B and DoRA's magnitudes moved away from their start, as after training. */
    private static DecoderModel trained(Family f, Variant v, DecoderModel base, Kernels k, DataType type, long seed) {
        DecoderModel m = base.asBaseOf(false, Trainable.ALL, config(f, v), null).initializeAdapters(seed);
        SplittableRandom r = new SplittableRandom(seed + 1);
        for (String n : m.parameters().names()) {
            INDArray p = m.parameters().get(n);
            if (n.contains("lora_B")) {
                double[] x = new double[(int) p.length()];
                for (int i = 0; i < x.length; i++) {
                    x[i] = r.nextGaussian() * 0.3;
                }
                p.assign(Nd4j.create(x, p.shape(), DataType.DOUBLE).castTo(type));
            } else if (n.endsWith("lora_magnitude_vector")) {
                double[] x = new double[(int) p.length()];
                for (int i = 0; i < x.length; i++) {
                    x[i] = 1 + 0.3 * r.nextGaussian();
                }
                p.muli(Nd4j.create(x, p.shape(), DataType.DOUBLE).castTo(type));
            }
        }
        return m;
    }

    @ParameterizedTest
    @MethodSource("familiesAndVariants")
    void gradientsMatchFiniteDifferencesUnderOneStepsMasks(Family f, Variant v) {
        DecoderModel base = base(f, new GenericKernels(), DataType.DOUBLE, 3);
        base.parameters().flat().muli(5);
        DecoderModel m = trained(f, v, base, new GenericKernels(), DataType.DOUBLE, 4);
        int[] targets = new int[BATCH.rows()];
        float[] weights = new float[BATCH.rows()];
        SplittableRandom r = new SplittableRandom(8);
        for (int i = 0; i < targets.length; i++) {
            targets[i] = r.nextInt(13);
            weights[i] = i % 5 == 4 ? 0f : 1f / targets.length;
        }
        long stepSeed = 77;
        m.zeroGradients();
        m.setAdapterDropoutSeed(stepSeed);
        LanguageModelLoss.forwardBackward(m, BATCH, targets, weights);
        m.setAdapterDropoutSeed(null);
        if (v.dropout > 0) {
            double undropped = LanguageModelLoss.evaluate(m, BATCH, targets, weights, null);
            m.setAdapterDropoutSeed(stepSeed);
            double dropped = LanguageModelLoss.evaluate(m, BATCH, targets, weights, null);
            m.setAdapterDropoutSeed(null);
            assertNotEquals(undropped, dropped, "dropout acts inside a step");
        }
        // DoRA's norm is detached (PEFT): the backward's gradient is the derivative with the norms held
        m.lora.holdNorms(true);
        m.forward(BATCH);
        int magnitudes = 0;
        for (ParameterSet.Spec s : m.parameters().specs()) {
            INDArray g = m.gradients().getOrNull(s.name());
            if (!s.name().contains(".lora_")) {
                assertNull(g, "the frozen base has no gradient: " + s.name());
                continue;
            }
            magnitudes += s.name().endsWith("lora_magnitude_vector") ? 1 : 0;
            INDArray p = m.parameters().get(s.name()).reshape(s.size());
            INDArray gf = g.reshape(s.size());
            for (int trial = 0; trial < 1; trial++) {
                long i = r.nextLong(s.size());
                double h = 1e-6;
                double orig = p.getDouble(i);
                p.putScalar(i, orig + h);
                m.setAdapterDropoutSeed(stepSeed);
                double up = LanguageModelLoss.evaluate(m, BATCH, targets, weights, null);
                p.putScalar(i, orig - h);
                m.setAdapterDropoutSeed(stepSeed);
                double down = LanguageModelLoss.evaluate(m, BATCH, targets, weights, null);
                m.setAdapterDropoutSeed(null);
                p.putScalar(i, orig);
                double fd = (up - down) / (2 * h);
                assertEquals(fd, gf.getDouble(i), 1e-7 + 1e-5 * Math.abs(fd), f + " " + v + " " + s.name() + "[" + i + "]");
            }
        }
        m.lora.holdNorms(false);
        assertEquals(v.dora ? 2 * 4 : 0, magnitudes);
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    void doraStartsAtTheBaseMergesAndDecodesAsTheFullForward(Family f) {
        Kernels k = new GenericKernels();
        DecoderModel base = base(f, k, DataType.FLOAT, 2);
        INDArray want = base.forward(BATCH).dup();
        DecoderModel fresh = base.asBaseOf(false, Trainable.ALL, config(f, Variant.RSLORA_DORA), null)
                .initializeAdapters(5);
        double atStart = fresh.forward(BATCH).sub(want).amaxNumber().doubleValue();
        assertTrue(atStart < 1e-5, "B = 0 and magnitude = norm: the base, " + atStart);

        DecoderModel m = trained(f, Variant.DORA_DROPOUT, base, k, DataType.FLOAT, 6);
        INDArray adapted = m.forward(BATCH).dup();
        assertTrue(adapted.sub(want).amaxNumber().doubleValue() > 1e-2, "the adapters change the output");
        m.setAdaptersEnabled(false);
        assertEquals(want, m.forward(BATCH), "adapters off: exactly the base");
        m.setAdaptersEnabled(true);

        int[] seq = {3, 1, 4, 1, 5};
        INDArray full = m.forward(TokenBatch.of(new int[][] {seq})).dup();
        KvCache cache = m.newCache(1, seq.length);
        cache.setMasks(new float[] {1, 1, 1}, 3);
        m.setAdapterDropoutSeed(9L); // a step in progress: decoding still never drops
        INDArray first = m.forwardCached(cache, new int[] {3, 1, 4}, new int[] {0, 1, 2}, 3).dup();
        assertTrue(first.sub(full.getRow(2)).amaxNumber().doubleValue() < 1e-4);
        for (int t = 3; t < seq.length; t++) {
            cache.setMasks(new float[] {1}, 1);
            INDArray next = m.forwardCached(cache, new int[] {seq[t]}, new int[] {t}, 1);
            assertTrue(next.sub(full.getRow(t)).amaxNumber().doubleValue() < 1e-4, "position " + t);
        }
        m.setAdapterDropoutSeed(null);

        // a training step (dropout on) moves the adapters only: the base stays bit for bit
        DecoderModel stepped = trained(f, Variant.DORA_DROPOUT, base, k, DataType.FLOAT, 6);
        stepped.zeroGradients();
        stepped.setAdapterDropoutSeed(4L);
        int[] targets = new int[BATCH.rows()];
        float[] weights = new float[BATCH.rows()];
        Arrays.fill(weights, 1f / BATCH.rows());
        LanguageModelLoss.forwardBackward(stepped, BATCH, targets, weights);
        stepped.setAdapterDropoutSeed(null);
        new AdamW(stepped.trainableParameters(), new AdamWConfig(0.9, 0.999, 1e-8, 0.01)).step(stepped.gradients(), 1e-2);
        for (String n : base.parameters().names()) {
            assertEquals(base.parameters().get(n), stepped.parameters().get(n), "frozen: " + n);
        }
        assertNotEquals(m.parameters().get(m.parameters().names().stream().filter(n -> n.endsWith("magnitude_vector"))
                .findFirst().orElseThrow()), stepped.parameters().get(m.parameters().names().stream()
                .filter(n -> n.endsWith("magnitude_vector")).findFirst().orElseThrow()), "the magnitude trains");

        DecoderModel plain = m.merged();
        assertNull(plain.lora());
        double diff = plain.forward(BATCH).sub(adapted).amaxNumber().doubleValue();
        assertTrue(diff < 1e-4, "the merged model's forward equals the adapted one: " + diff);
    }

    /**
     * Inverted dropout: each draw drops about p of the inputs and scales the rest by 1/(1-p), so the
     * mean of many draws of the (linear) adapter output is the undropped output; the first draw
     * after the same seed is the same mask again (what exact resume rests on).
     */
    @Test
    void dropoutMasksAverageToTheUndroppedAdapterAndRepeatFromTheSeed() {
        for (Variant v : List.of(Variant.DORA_DROPOUT)) {
            DecoderModel m = trained(Family.GPT2, v, base(Family.GPT2, new GenericKernels(), DataType.DOUBLE, 1),
                    new GenericKernels(), DataType.DOUBLE, 2);
            LoraAdapters a = m.lora;
            SplittableRandom r = new SplittableRandom(3);
            int n = 3;
            double[] x = new double[n * 12];
            for (int i = 0; i < x.length; i++) {
                x[i] = r.nextGaussian();
            }
            INDArray inp = Nd4j.create(x, new long[] {n, 12}, DataType.DOUBLE);
            INDArray eval = Nd4j.zeros(DataType.DOUBLE, n, 48);
            a.forward(0, GptModel.C_FC, eval, inp, false);
            a.setDropoutSeed(11L);
            INDArray sum = Nd4j.zeros(DataType.DOUBLE, n, 48);
            INDArray first = null;
            int draws = 1000;
            for (int d = 0; d < draws; d++) {
                INDArray out = Nd4j.zeros(DataType.DOUBLE, n, 48);
                a.forward(0, GptModel.C_FC, out, inp, true);
                if (first == null) {
                    first = out.dup();
                }
                sum.addi(out);
            }
            double scale = eval.amaxNumber().doubleValue();
            double meanErr = sum.divi(draws).sub(eval).amaxNumber().doubleValue() / scale;
            double oneDraw = first.sub(eval).amaxNumber().doubleValue() / scale;
            assertTrue(meanErr < 0.08, v + ": mean of draws " + meanErr);
            assertTrue(oneDraw > 0.2, v + ": a draw differs from the undropped output " + oneDraw);
            a.setDropoutSeed(11L);
            INDArray again = Nd4j.zeros(DataType.DOUBLE, n, 48);
            a.forward(0, GptModel.C_FC, again, inp, true);
            assertEquals(first, again, "the same step seed draws the same mask");
            a.setDropoutSeed(null);
            INDArray outside = Nd4j.zeros(DataType.DOUBLE, n, 48);
            a.forward(0, GptModel.C_FC, outside, inp, true);
            assertEquals(eval, outside, "no step: no dropout");
        }
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    void roundTripsThroughPeftsFilesWithPeftsKeysAndNames(Family f, @TempDir Path tmp) throws IOException {
        DecoderModel model = base(f, new GenericKernels(), DataType.FLOAT, 1);
        DecoderModel m = trained(f, Variant.DORA_DROPOUT, model, new GenericKernels(), DataType.FLOAT, 2);
        LoraConfig rs = new LoraConfig(3, 6.0, m.lora().targets(), 0.3, true, true);
        DecoderModel adapted = model.asBaseOf(false, Trainable.ALL, rs, null);
        for (String n : m.parameters().names()) {
            adapted.parameters().get(n).assign(m.parameters().get(n));
        }
        Path dir = tmp.resolve("adapter");
        PeftAdapter.write(adapted, tmp.resolve("base"), dir);
        JsonNode c = Json.MAPPER.readTree(dir.resolve(PeftAdapter.CONFIG).toFile());
        assertEquals(0.3, c.get("lora_dropout").asDouble());
        assertTrue(c.get("use_rslora").asBoolean() && c.get("use_dora").asBoolean());
        assertEquals(f == Family.GPT2, c.get("fan_in_fan_out").asBoolean());
        String magnitude = f == Family.GPT2 ? "base_model.model.transformer.h.1.mlp.c_fc.lora_magnitude_vector"
                : "base_model.model.model.layers.1.self_attn.v_proj.lora_magnitude_vector";
        try (Safetensors.Reader r = Safetensors.open(dir.resolve(PeftAdapter.WEIGHTS))) {
            assertArrayEquals(new long[] {f == Family.GPT2 ? 48 : 8}, r.tensors().get(magnitude).shape(), magnitude);
        }
        PeftAdapter.Info info = PeftAdapter.read(dir);
        assertEquals(rs, info.lora());
        DecoderModel loaded = model.asBaseOf(false, Trainable.ALL, info.lora(), null);
        PeftAdapter.loadInto(dir, loaded);
        assertEquals(adapted.parameters().flat(), loaded.parameters().flat());
        assertEquals(adapted.forward(BATCH), loaded.forward(BATCH));

        ObjectNode patterned = (ObjectNode) c;
        patterned.putObject("rank_pattern").put("c_fc", 8);
        Files.writeString(dir.resolve(PeftAdapter.CONFIG), patterned.toString());
        IOException e = assertThrows(IOException.class, () -> PeftAdapter.read(dir));
        assertTrue(e.getMessage().contains("rank_pattern"), e.getMessage());
    }
}
