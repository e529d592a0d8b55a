package org.align4j.core.model;

import static org.align4j.core.testing.GoldenFixtures.assertGradients;
import static org.align4j.core.testing.GoldenFixtures.assertRelClose;
import static org.align4j.core.testing.GoldenFixtures.floats;
import static org.align4j.core.testing.GoldenFixtures.ints;
import static org.align4j.core.testing.GoldenFixtures.tokenBatch;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.checkpoint.PeftAdapter;
import org.align4j.core.checkpoint.Safetensors;
import org.align4j.core.kernels.GenericKernels;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.loss.LanguageModelLoss;
import org.align4j.core.optim.AdamW;
import org.align4j.core.optim.AdamWConfig;
import org.align4j.core.testing.GoldenFixtures;
import org.align4j.core.util.Json;
import org.align4j.core.util.UserInputException;

/**
 * IA3 in PEFT's format for GPT-2 (Conv1D) and the Llama family (Linear), against independent
 * oracles: a PyTorch fixture written from PEFT's {@code IA3Layer} (tools/reference/ia3_reference.py,
 * float64: PEFT's default targets, c_attn's output and mlp.c_proj's input for GPT-2, k_proj's output
 * before the rotation, v_proj's and down_proj's input for Llama) gives the logits, the loss, every
 * {@code ia3_l} gradient, the loss after one AdamW step and the merged model's logits; finite
 * differences in double check every module kind (output-scaled with and without bias, feedforward,
 * a residual projection whose output gradient is shared); the fresh model is its base bit for bit,
 * decoding through the KV cache equals the full forward, a training step leaves the base bit
 * identical, and PEFT's files round-trip with its keys, names and shapes, refusals naming the key.
 */
class Ia3Test {

    enum Family { GPT2, LLAMA }

    static final Path FIXTURES = Path.of("src/test/resources/fixtures/ia3-tiny");

    private static final GptConfig GPT = GptConfig.of(13, 8, 12, 2, 2);
    private static final LlamaConfig QWEN = new LlamaConfig("qwen2", 13, 16, 24, 2, 4, 2, 1e-6, 10000.0, null, 8,
            false, true, null, List.of(12));
    private static final TokenBatch BATCH = TokenBatch.rightPadded(new int[][] {{3, 1, 4, 1, 5, 9}, {2, 6, 5}}, 0);

    /** Every module kind: output-scaled (fused, biased, residual) and feedforward (input-scaled). */
    private static LoraConfig everyKind(Family f) {
        return f == Family.GPT2 ? LoraConfig.ia3(List.of("c_attn", "c_proj", "c_fc"), List.of("mlp.c_proj", "c_fc"))
                : LoraConfig.ia3(List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
                        List.of("down_proj", "up_proj"));
    }

    private static DecoderModel base(Family f, Kernels k, DataType type, long seed) {
        return f == Family.GPT2 ? new GptModel(GPT, k, type).initialize(seed)
                : new LlamaModel(QWEN, k, type, false, Trainable.ALL).initialize(seed);
    }

    /** Vectors moved away from ones, as after training. */
    private static DecoderModel trained(DecoderModel base, LoraConfig ia3, long seed) {
        DecoderModel m = base.asBaseOf(false, Trainable.ALL, ia3, null).initializeAdapters(seed);
        SplittableRandom r = new SplittableRandom(seed);
        for (String n : m.parameters().names()) {
            if (n.endsWith(".ia3_l")) {
                INDArray p = m.parameters().get(n);
                double[] x = new double[(int) p.length()];
                for (int i = 0; i < x.length; i++) {
                    x[i] = 1 + 0.4 * r.nextGaussian();
                }
                p.assign(Nd4j.create(x, p.shape(), DataType.DOUBLE).castTo(p.dataType()));
            }
        }
        return m;
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    void matchesPyTorchForwardGradientsStepAndMerge(Family f) throws Exception {
        Path dir = FIXTURES.resolve(f == Family.GPT2 ? "gpt2" : "llama");
        JsonNode meta = Json.MAPPER.readTree(dir.resolve("expected.json").toFile());
        TokenBatch batch = tokenBatch(meta);
        int[] targets = ints(meta.get("targets"));
        float[] weights = floats(meta.get("loss_weights"));
        for (Kernels kernels : GoldenFixtures.kernels().toList()) {
            DecoderModel m = ModelDirectory.loadAdapter(dir.resolve("adapter"), dir.resolve("model"), kernels,
                    DataType.FLOAT, false);
            assertTrue(m.lora().isIa3());
            assertEquals(f == Family.GPT2 ? List.of("mlp.c_proj") : List.of("down_proj"), m.lora().feedforward());
            try (Safetensors.Reader expected = Safetensors.open(dir.resolve("expected.safetensors"))) {
                INDArray logits = Nd4j.create(DataType.FLOAT, batch.rows(), 64);
                expected.readInto("logits", logits);
                assertRelClose("logits", logits, m.forward(batch), 1e-4);
                m.zeroGradients();
                double loss = LanguageModelLoss.forwardBackward(m, batch, targets, weights);
                assertEquals(meta.get("loss").asDouble(), loss, 1e-4 * Math.abs(loss));
                assertEquals(f == Family.GPT2 ? 2 * 2 : 2 * 3, assertGradients(m, expected, 1e-4),
                        "every ia3_l, and nothing else, trains");

                JsonNode opt = meta.get("adamw");
                DecoderModel stepped = ModelDirectory.loadAdapter(dir.resolve("adapter"), dir.resolve("model"),
                        kernels, DataType.FLOAT, false);
                stepped.zeroGradients();
                LanguageModelLoss.forwardBackward(stepped, batch, targets, weights);
                new AdamW(stepped.trainableParameters(), new AdamWConfig(opt.get("betas").get(0).asDouble(),
                        opt.get("betas").get(1).asDouble(), opt.get("eps").asDouble(),
                        opt.get("weight_decay").asDouble())).step(stepped.gradients(), opt.get("lr").asDouble());
                double want = meta.get("loss_after_step").asDouble();
                assertEquals(want, LanguageModelLoss.evaluate(stepped, batch, targets, weights, null),
                        1e-4 * Math.abs(want));

                INDArray mergedLogits = Nd4j.create(DataType.FLOAT, batch.rows(), 64);
                expected.readInto("merged_logits", mergedLogits);
                DecoderModel plain = m.merged();
                assertNull(plain.lora());
                assertRelClose("merged logits", mergedLogits, plain.forward(batch), 1e-4);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    void gradientsMatchFiniteDifferences(Family f) {
        DecoderModel base = base(f, new GenericKernels(), DataType.DOUBLE, 3);
        base.parameters().flat().muli(5);
        DecoderModel m = trained(base, everyKind(f), 4);
        int[] targets = new int[BATCH.rows()];
        float[] weights = new float[BATCH.rows()];
        SplittableRandom r = new SplittableRandom(8);
        for (int i = 0; i < targets.length; i++) {
            targets[i] = r.nextInt(13);
            weights[i] = i % 5 == 4 ? 0f : 1f / targets.length;
        }
        m.zeroGradients();
        LanguageModelLoss.forwardBackward(m, BATCH, targets, weights);
        int vectors = 0;
        for (ParameterSet.Spec s : m.parameters().specs()) {
            INDArray g = m.gradients().getOrNull(s.name());
            if (!s.name().endsWith(".ia3_l")) {
                assertNull(g, "the frozen base has no gradient: " + s.name());
                continue;
            }
            vectors++;
            INDArray p = m.parameters().get(s.name()).reshape(s.size());
            INDArray gf = g.reshape(s.size());
            for (int trial = 0; trial < 2; trial++) {
                long i = r.nextLong(s.size());
                double h = 1e-6;
                double orig = p.getDouble(i);
                p.putScalar(i, orig + h);
                double up = LanguageModelLoss.evaluate(m, BATCH, targets, weights, null);
                p.putScalar(i, orig - h);
                double down = LanguageModelLoss.evaluate(m, BATCH, targets, weights, null);
                p.putScalar(i, orig);
                double fd = (up - down) / (2 * h);
                assertEquals(fd, gf.getDouble(i), 1e-8 + 1e-5 * Math.abs(fd), f + " " + s.name() + "[" + i + "]");
            }
        }
        assertEquals(f == Family.GPT2 ? 2 * 4 : 2 * 7, vectors);
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    void startsAtTheBaseDecodesAsTheFullForwardTrainsOnlyTheVectorsAndMerges(Family f) {
        Kernels k = new GenericKernels();
        DecoderModel base = base(f, k, DataType.FLOAT, 2);
        INDArray want = base.forward(BATCH).dup();
        DecoderModel fresh = base.asBaseOf(false, Trainable.ALL, everyKind(f), null).initializeAdapters(5);
        assertEquals(want, fresh.forward(BATCH), "vectors of ones: exactly the base");

        DecoderModel m = trained(base, everyKind(f), 6);
        INDArray adapted = m.forward(BATCH).dup();
        assertTrue(adapted.sub(want).amaxNumber().doubleValue() > 1e-2, "the vectors change the output");
        m.setAdaptersEnabled(false);
        assertEquals(want, m.forward(BATCH), "adapters off: exactly the base");
        m.setAdaptersEnabled(true);

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

        DecoderModel stepped = trained(base, everyKind(f), 6);
        stepped.zeroGradients();
        int[] targets = new int[BATCH.rows()];
        float[] weights = new float[BATCH.rows()];
        Arrays.fill(weights, 1f / BATCH.rows());
        LanguageModelLoss.forwardBackward(stepped, BATCH, targets, weights);
        new AdamW(stepped.trainableParameters(), new AdamWConfig(0.9, 0.999, 1e-8, 0.01)).step(stepped.gradients(),
                1e-2);
        for (String n : base.parameters().names()) {
            assertEquals(base.parameters().get(n), stepped.parameters().get(n), "frozen: " + n);
        }
        String v = stepped.trainableParameters().names().get(0);
        assertNotEquals(m.parameters().get(v), stepped.parameters().get(v), "the vectors train");

        DecoderModel plain = m.merged();
        assertNull(plain.lora());
        double diff = plain.forward(BATCH).sub(adapted).amaxNumber().doubleValue();
        assertTrue(diff < 1e-4, "the merged model's forward equals the adapted one: " + diff);
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    void roundTripsThroughPeftsFilesWithPeftsKeysNamesAndShapes(Family f, @TempDir Path tmp) throws IOException {
        DecoderModel base = base(f, new GenericKernels(), DataType.FLOAT, 1);
        ModelDirectory.save(base, tmp.resolve("base"));
        DecoderModel m = trained(base, everyKind(f), 2);
        m.setAdapterBase(tmp.resolve("base"));
        Path dir = tmp.resolve("adapter");
        ModelDirectory.save(m, dir);
        JsonNode c = Json.MAPPER.readTree(dir.resolve(PeftAdapter.CONFIG).toFile());
        assertEquals("IA3", c.get("peft_type").asText());
        assertEquals(f == Family.GPT2, c.get("fan_in_fan_out").asBoolean());
        assertEquals(everyKind(f).feedforward().size(), c.get("feedforward_modules").size());
        assertTrue(c.path("r").isMissingNode(), "no LoRA keys");
        String prefix = f == Family.GPT2 ? "base_model.model.transformer.h.0." : "base_model.model.model.layers.0.";
        try (Safetensors.Reader r = Safetensors.open(dir.resolve(PeftAdapter.WEIGHTS))) {
            if (f == Family.GPT2) {
                assertArrayEquals(new long[] {3 * 12, 1}, r.tensors().get(prefix + "attn.c_attn.ia3_l").shape());
                assertArrayEquals(new long[] {1, 4 * 12}, r.tensors().get(prefix + "mlp.c_proj.ia3_l").shape());
            } else {
                assertArrayEquals(new long[] {8, 1}, r.tensors().get(prefix + "self_attn.k_proj.ia3_l").shape());
                assertArrayEquals(new long[] {1, 24}, r.tensors().get(prefix + "mlp.down_proj.ia3_l").shape());
            }
        }
        DecoderModel back = ModelDirectory.load(dir, new GenericKernels(), DataType.FLOAT);
        assertEquals(m.forward(BATCH), back.forward(BATCH), "the same adapter back");

        // what align4j cannot apply exactly is refused, naming the key
        ObjectNode bad = (ObjectNode) Json.MAPPER.readTree(dir.resolve(PeftAdapter.CONFIG).toFile());
        bad.put("r", 8);
        assertRefused(dir, bad, "r is not supported for IA3");
        bad.remove("r");
        bad.put("target_modules", ".*c_attn");
        assertRefused(dir, bad, "target_modules as a regular expression");
        bad.set("target_modules", c.get("target_modules"));
        bad.putArray("exclude_modules").add("c_fc");
        assertRefused(dir, bad, "exclude_modules is not supported");
    }

    private static void assertRefused(Path dir, ObjectNode config, String message) throws IOException {
        Files.writeString(dir.resolve(PeftAdapter.CONFIG), config.toString());
        IOException e = assertThrows(IOException.class, () -> PeftAdapter.read(dir));
        assertTrue(e.getMessage().contains(message) && e.getMessage().contains(PeftAdapter.CONFIG), e.getMessage());
    }

    @Test
    void feedforwardModulesMustBeTargetsAndLorasOptionsDoNotApply() {
        UserInputException e = assertThrows(UserInputException.class, () -> new GptModel(GPT, new GenericKernels(),
                DataType.FLOAT, false, Trainable.ALL, LoraConfig.ia3(List.of("c_attn"), List.of("c_fc"))));
        assertTrue(e.getMessage().contains("subset of target_modules"), e.getMessage());
        assertThrows(UserInputException.class, () -> new LoraConfig(4, 8, List.of("c_attn"), 0, false, false,
                LoraConfig.Method.IA3, null, 0, null, 0));
        // PEFT's defaults for the family: GPT-2 c_attn and mlp.c_proj, the latter feedforward
        DecoderModel d = new GptModel(GPT, new GenericKernels(), DataType.FLOAT, false, Trainable.ALL,
                LoraConfig.ia3(List.of(), null));
        assertEquals(List.of("c_attn", "mlp.c_proj"), d.lora().targets());
        assertEquals(List.of("mlp.c_proj"), d.lora().feedforward());
        assertArrayEquals(new long[] {1, 4 * 12}, d.parameters().get("h.1.mlp.c_proj.ia3_l").shape());
    }
}
