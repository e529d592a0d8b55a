package org.align4j.core.model;

import static org.align4j.core.testing.GoldenFixtures.assertRelClose;
import static org.align4j.core.testing.GoldenFixtures.floats;
import static org.align4j.core.testing.GoldenFixtures.ints;
import static org.align4j.core.testing.GoldenFixtures.tokenBatch;
import static org.align4j.core.model.VirtualTokenChecks.BATCH;
import static org.align4j.core.model.VirtualTokenChecks.base;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
import org.align4j.core.loss.LanguageModelLoss;
import org.align4j.core.model.VirtualTokenChecks.Family;
import org.align4j.core.optim.AdamW;
import org.align4j.core.testing.GoldenFixtures;
import org.align4j.core.util.Json;

/**
 * Prefix tuning (P-Tuning v2's every-layer form) in PEFT's format for GPT-2 and the Llama family
 * (grouped-query attention: the prefix has the key/value heads' width), against independent
 * oracles: a PyTorch fixture written from PEFT's PREFIX_TUNING forward
 * (tools/reference/prefix_tuning_reference.py, float64: the table viewed as past_key_values, keys
 * not rotated, positions offset by the virtual tokens) gives the logits, the loss, the gradient of
 * {@code prompt_embeddings}, the loss after one AdamW step and greedy tokens decoded by full
 * recomputation, which align4j decodes through the KV cache; finite differences in double; the
 * adapter off is the base exactly, a training step leaves the base bit identical, the continuous
 * batcher decodes as the generator, merge is refused, and PEFT's files round-trip.
 */
class PrefixTuningTest {

    static final Path FIXTURES = Path.of("src/test/resources/fixtures/prefix-tuning-tiny");

    private static DecoderModel tuned(DecoderModel base, long seed) {
        return base.asBaseOf(false, Trainable.ALL, LoraConfig.prefixTuning(3), null).initializeAdapters(seed);
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    void matchesPyTorchForwardGradientStepAndGreedyDecoding(Family f) throws Exception {
        // [n, layers * 2 * d]: GPT-2 d = 32; Llama's two key/value heads of 8
        VirtualTokenChecks.assertMatchesFixture(FIXTURES.resolve(f == Family.GPT2 ? "gpt2" : "llama"), f == Family.GPT2 ? 2 * 2 * 32 : 2 * 2 * 16);
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    void gradientMatchesFiniteDifferences(Family f) {
        DecoderModel base = base(f, new GenericKernels(), DataType.DOUBLE, 3);
        base.parameters().flat().muli(5);
        DecoderModel m = tuned(base, 4);
        VirtualTokenChecks.assertPromptGradientMatchesFiniteDifferences(m, BATCH, f.toString());
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    void decodesAsTheFullForwardTrainsOnlyThePromptAndIsNotMergeable(Family f) {
        DecoderModel base = base(f, new GenericKernels(), DataType.FLOAT, 2);
        VirtualTokenChecks.assertDecodesAsTheFullForwardTrainsOnlyThePromptAndIsNotMergeable(base,
                seed -> tuned(base, seed), "prefix tuning");
    }

    @Test
    void roundTripsThroughPeftsFilesAndRefusesWhatItCannotApply(@TempDir Path tmp) throws IOException {
        DecoderModel base = base(Family.GPT2, new GenericKernels(), DataType.FLOAT, 1);
        ModelDirectory.save(base, tmp.resolve("base"));
        DecoderModel m = tuned(base, 2);
        m.setAdapterBase(tmp.resolve("base"));
        Path dir = tmp.resolve("adapter");
        ModelDirectory.save(m, dir);
        JsonNode c = Json.MAPPER.readTree(dir.resolve(PeftAdapter.CONFIG).toFile());
        assertEquals("PREFIX_TUNING", c.get("peft_type").asText());
        assertEquals(3, c.get("num_virtual_tokens").asInt());
        assertEquals(12, c.get("token_dim").asInt());
        assertEquals(2, c.get("num_layers").asInt());
        assertTrue(!c.get("prefix_projection").asBoolean());
        try (Safetensors.Reader r = Safetensors.open(dir.resolve(PeftAdapter.WEIGHTS))) {
            assertEquals(List.of("prompt_embeddings"), List.copyOf(r.tensors().keySet()), "PEFT's one key");
            assertArrayEquals(new long[] {3, 2 * 2 * 12}, r.tensors().get("prompt_embeddings").shape());
        }
        DecoderModel back = ModelDirectory.load(dir, new GenericKernels(), DataType.FLOAT);
        assertEquals(m.forward(BATCH), back.forward(BATCH), "the same adapter back");
        assertNull(back.quantized());

        ObjectNode bad = (ObjectNode) Json.MAPPER.readTree(dir.resolve(PeftAdapter.CONFIG).toFile());
        bad.put("num_transformer_submodules", 2);
        assertRefused(dir, bad, "num_transformer_submodules 2 is not supported");
        bad.put("num_transformer_submodules", 1);
        bad.put("prompt_tuning_init", "TEXT");
        assertRefused(dir, bad, "prompt_tuning_init is not supported for PREFIX_TUNING");
    }

    /**
     * The reparameterisation MLP (PEFT's prefix_projection): against the PyTorch fixture the logits,
     * the loss and the gradients of E, W0, b0, W2 and b2; the gradients against finite differences
     * in double; the adapter as PEFT saves it (the projected table alone) loads as that table and
     * gives the same logits; align4j's own file brings the MLP back, so it trains further as it was.
     */
    @Test
    void theProjectionMatchesPyTorchFiniteDifferencesAndLoadsAsPeftsTable(@TempDir Path tmp) throws Exception {
        Path dir = FIXTURES.resolve("gpt2-projection");
        JsonNode meta = Json.MAPPER.readTree(dir.resolve("expected.json").toFile());
        TokenBatch batch = tokenBatch(meta);
        int[] targets = ints(meta.get("targets"));
        float[] weights = floats(meta.get("loss_weights"));
        DecoderModel m = ModelDirectory.loadAdapter(dir.resolve("adapter"), dir.resolve("model"), new GenericKernels(),
                DataType.FLOAT, false);
        assertTrue(m.lora().projection());
        assertEquals(16, m.lora().encoderHiddenSize());
        try (Safetensors.Reader expected = Safetensors.open(dir.resolve("expected.safetensors"))) {
            INDArray logits = Nd4j.create(DataType.FLOAT, batch.rows(), 64);
            expected.readInto("logits", logits);
            assertRelClose("logits", logits, m.forward(batch), 1e-4);
            m.zeroGradients();
            double loss = LanguageModelLoss.forwardBackward(m, batch, targets, weights);
            assertEquals(meta.get("loss").asDouble(), loss, 1e-4 * Math.abs(loss));
            assertEquals(5, GoldenFixtures.assertGradients(m, expected, 1e-4), "the embedding and the MLP's four");

            // PEFT's files alone (no align4j_prefix_encoder.safetensors): the saved table, as PEFT loads it
            Path peftOnly = tmp.resolve("peft-only");
            Files.createDirectories(peftOnly);
            for (String f : List.of(PeftAdapter.CONFIG, PeftAdapter.WEIGHTS)) {
                Files.copy(dir.resolve("adapter").resolve(f), peftOnly.resolve(f));
            }
            DecoderModel table = ModelDirectory.loadAdapter(peftOnly, dir.resolve("model"), new GenericKernels(),
                    DataType.FLOAT, false);
            assertTrue(!table.lora().projection());
            assertRelClose("logits from PEFT's table", logits, table.forward(batch), 1e-4);
        }

        DecoderModel base = base(Family.LLAMA, new GenericKernels(), DataType.DOUBLE, 3);
        base.parameters().flat().muli(5);
        DecoderModel d = base.asBaseOf(false, Trainable.ALL, LoraConfig.prefixTuning(3, 5), null).initializeAdapters(4);
        int[] t = new int[BATCH.rows()];
        float[] w = new float[BATCH.rows()];
        SplittableRandom r = new SplittableRandom(8);
        for (int i = 0; i < t.length; i++) {
            t[i] = r.nextInt(13);
            w[i] = i % 5 == 4 ? 0f : 1f / t.length;
        }
        d.zeroGradients();
        LanguageModelLoss.forwardBackward(d, BATCH, t, w);
        assertEquals(5, d.trainableParameters().names().size());
        for (String name : d.trainableParameters().names()) {
            INDArray p = d.parameters().get(name).reshape(-1);
            INDArray g = d.gradients().get(name).reshape(-1);
            long i = r.nextLong(p.length());
            double h = 1e-6;
            double orig = p.getDouble(i);
            p.putScalar(i, orig + h);
            double up = LanguageModelLoss.evaluate(d, BATCH, t, w, null);
            p.putScalar(i, orig - h);
            double down = LanguageModelLoss.evaluate(d, BATCH, t, w, null);
            p.putScalar(i, orig);
            double fd = (up - down) / (2 * h);
            assertEquals(fd, g.getDouble(i), 1e-8 + 1e-5 * Math.abs(fd), name + "[" + i + "]");
        }
    }

    private static void assertRefused(Path dir, ObjectNode config, String message) throws IOException {
        Files.writeString(dir.resolve(PeftAdapter.CONFIG), config.toString());
        IOException e = assertThrows(IOException.class, () -> PeftAdapter.read(dir));
        assertTrue(e.getMessage().contains(message) && e.getMessage().contains(PeftAdapter.CONFIG), e.getMessage());
    }
}
