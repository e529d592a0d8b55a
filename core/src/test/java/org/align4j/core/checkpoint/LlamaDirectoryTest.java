package org.align4j.core.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import org.align4j.core.kernels.GenericKernels;
import org.align4j.core.model.LlamaModel;
import org.align4j.core.model.TokenBatch;
import org.align4j.core.util.Json;

/**
 * Hugging Face's Llama layout: a BF16 checkpoint in two shards with an index (written by PyTorch)
 * loads, holding PyTorch's BF16 rounding of the F32 weights; align4j's own BF16 save rounds every
 * weight to the same bits; an F32 save in shards reloads exactly.
 */
class LlamaDirectoryTest {

    static final Path FIXTURES = Path.of("src/test/resources/fixtures/llama-tiny");

    @TempDir
    Path tmp;

    @Test
    void bf16ShardsLoadAndSavesRoundTrip() throws Exception {
        GenericKernels k = new GenericKernels();
        assertTrue(LlamaDirectory.isLlama(FIXTURES.resolve("model")));
        LlamaModel f32 = LlamaDirectory.load(FIXTURES.resolve("model"), k, DataType.FLOAT);
        LlamaModel bf16 = LlamaDirectory.load(FIXTURES.resolve("model-bf16-sharded"), k, DataType.FLOAT);
        for (String n : f32.parameters().names()) {
            float[] a = f32.parameters().get(n).dup().data().asFloat();
            float[] b = bf16.parameters().get(n).dup().data().asFloat();
            for (int i = 0; i < a.length; i++) {
                assertEquals(0, Float.floatToRawIntBits(b[i]) & 0xFFFF, n + ": a BF16 value");
                assertTrue(Math.abs(a[i] - b[i]) <= Math.abs(a[i]) / 256, n + "[" + i + "] within BF16 rounding");
            }
        }
        TokenBatch batch = TokenBatch.of(new int[][] {{1, 2, 3, 4}});
        INDArray logits = bf16.forward(batch);
        assertTrue(logits.amaxNumber().doubleValue() < 1e3 && !Double.isNaN(logits.sumNumber().doubleValue()));

        // align4j's BF16 save rounds exactly as PyTorch did
        Path saved = tmp.resolve("bf16");
        LlamaDirectory.save(f32, saved, "BF16", Long.MAX_VALUE);
        LlamaModel again = LlamaDirectory.load(saved, k, DataType.FLOAT);
        for (String n : f32.parameters().names()) {
            assertEquals(bf16.parameters().get(n), again.parameters().get(n), n);
        }
        JsonNode cfg = Json.MAPPER.readTree(saved.resolve("config.json").toFile());
        assertEquals("qwen2", cfg.get("model_type").asText());
        assertEquals(2, cfg.get("num_key_value_heads").asInt());

        // F32 in shards of at most 20 KB: an index and several files, reloaded bit for bit
        Path sharded = tmp.resolve("sharded");
        LlamaDirectory.save(f32, sharded, "F32", 20_000);
        JsonNode index = Json.MAPPER.readTree(sharded.resolve("model.safetensors.index.json").toFile());
        assertTrue(index.get("weight_map").size() == f32.parameters().names().size());
        long shards;
        try (var s = Files.list(sharded)) {
            shards = s.filter(p -> p.getFileName().toString().matches("model-\\d{5}-of-\\d{5}\\.safetensors")).count();
        }
        assertTrue(shards > 2, "shards: " + shards);
        LlamaModel back = LlamaDirectory.load(sharded, k, DataType.FLOAT);
        for (String n : f32.parameters().names()) {
            assertEquals(f32.parameters().get(n), back.parameters().get(n), n);
        }
    }
}
