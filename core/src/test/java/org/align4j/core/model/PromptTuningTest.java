package org.align4j.core.model;

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

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;

import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.checkpoint.PeftAdapter;
import org.align4j.core.checkpoint.Safetensors;
import org.align4j.core.kernels.GenericKernels;
import org.align4j.core.model.VirtualTokenChecks.Family;
import org.align4j.core.optim.AdamW;
import org.align4j.core.util.Json;

/**
 * Prompt tuning in PEFT's format for GPT-2 and the Llama family, against independent oracles: a
 * PyTorch fixture written from PEFT's PROMPT_TUNING forward (tools/reference/prompt_tuning_reference.py,
 * float64: the embeddings concatenated before the tokens', positions over the whole sequence so the
 * tokens follow the virtual ones) gives the real tokens' logits, the loss, the gradient of
 * {@code prompt_embeddings}, the loss after one AdamW step and greedy tokens decoded by full
 * recomputation, which align4j decodes through the KV cache; finite differences in double; the
 * adapter off is the base exactly, a training step leaves the base bit identical, the continuous
 * batcher decodes as the generator, merge is refused, and PEFT's files round-trip.
 */
class PromptTuningTest {

    static final Path FIXTURES = Path.of("src/test/resources/fixtures/prompt-tuning-tiny");

    private static DecoderModel tuned(DecoderModel base, long seed) {
        return base.asBaseOf(false, Trainable.ALL, LoraConfig.promptTuning(3, null), null).initializeAdapters(seed);
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    void matchesPyTorchForwardGradientStepAndGreedyDecoding(Family f) throws Exception {
        VirtualTokenChecks.assertMatchesFixture(FIXTURES.resolve(f == Family.GPT2 ? "gpt2" : "llama"), 32);
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
                seed -> tuned(base, seed), "prompt tuning");
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
        assertEquals("PROMPT_TUNING", c.get("peft_type").asText());
        assertEquals(3, c.get("num_virtual_tokens").asInt());
        assertEquals(12, c.get("token_dim").asInt());
        assertEquals("RANDOM", c.get("prompt_tuning_init").asText());
        try (Safetensors.Reader r = Safetensors.open(dir.resolve(PeftAdapter.WEIGHTS))) {
            assertEquals(List.of("prompt_embeddings"), List.copyOf(r.tensors().keySet()), "PEFT's one key");
            assertArrayEquals(new long[] {3, 12}, r.tensors().get("prompt_embeddings").shape());
        }
        DecoderModel back = ModelDirectory.load(dir, new GenericKernels(), DataType.FLOAT);
        assertEquals(m.forward(BATCH), back.forward(BATCH), "the same adapter back");
        assertNull(back.quantized());

        ObjectNode bad = (ObjectNode) Json.MAPPER.readTree(dir.resolve(PeftAdapter.CONFIG).toFile());
        bad.put("num_transformer_submodules", 2);
        assertRefused(dir, bad, "num_transformer_submodules 2 is not supported");
        bad.put("num_transformer_submodules", 1);
        bad.put("prompt_tuning_init", "SAMPLE_VOCAB");
        assertRefused(dir, bad, "prompt_tuning_init 'SAMPLE_VOCAB'");
        bad.put("prompt_tuning_init", "RANDOM");
        bad.put("encoder_hidden_size", 64);
        assertRefused(dir, bad, "encoder_hidden_size is not supported for PROMPT_TUNING");
    }

    private static void assertRefused(Path dir, ObjectNode config, String message) throws IOException {
        Files.writeString(dir.resolve(PeftAdapter.CONFIG), config.toString());
        IOException e = assertThrows(IOException.class, () -> PeftAdapter.read(dir));
        assertTrue(e.getMessage().contains(message) && e.getMessage().contains(PeftAdapter.CONFIG), e.getMessage());
    }
}
