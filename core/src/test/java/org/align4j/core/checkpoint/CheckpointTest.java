package org.align4j.core.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import org.align4j.core.kernels.GenericKernels;
import org.align4j.core.model.GptConfig;
import org.align4j.core.model.GptModel;
import org.align4j.core.model.TokenBatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class CheckpointTest {

    @TempDir
    Path tmp;

    private static GptModel tinyModel() {
        return new GptModel(GptConfig.of(40, 12, 16, 2, 2), new GenericKernels(), DataType.FLOAT).initialize(9);
    }

    @Test
    void saveThenLoadGivesIdenticalLogits() throws IOException {
        GptModel m = tinyModel();
        TokenBatch b = TokenBatch.of(new int[][] {{1, 5, 39, 2, 2, 7}});
        INDArray before = m.forward(b).dup();
        ModelDirectory.save(m, tmp.resolve("m"));
        GptModel loaded = (GptModel) ModelDirectory.load(tmp.resolve("m"), new GenericKernels(), DataType.FLOAT);
        assertEquals(m.config().nEmbd(), loaded.config().nEmbd());
        assertEquals(before, loaded.forward(b));
        // no temporary files left behind by the atomic writes
        try (var files = Files.list(tmp.resolve("m"))) {
            assertEquals(2, files.count());
        }
    }

    @Test
    void shardedCheckpointLoads() throws IOException {
        GptModel m = tinyModel();
        Path dir = Files.createDirectories(tmp.resolve("sharded"));
        m.config().write(dir.resolve("config.json"));
        Map<String, INDArray> a = new LinkedHashMap<>();
        Map<String, INDArray> b = new LinkedHashMap<>();
        StringBuilder index = new StringBuilder("{\"metadata\":{},\"weight_map\":{");
        int i = 0;
        for (String name : m.parameters().names()) {
            boolean first = i++ % 2 == 0;
            (first ? a : b).put("transformer." + name, m.parameters().get(name));
            index.append(i > 1 ? "," : "").append('"').append("transformer.").append(name).append("\":\"")
                    .append(first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors")
                    .append('"');
        }
        Safetensors.write(dir.resolve("model-00001-of-00002.safetensors"), a, null);
        Safetensors.write(dir.resolve("model-00002-of-00002.safetensors"), b, null);
        Files.writeString(dir.resolve("model.safetensors.index.json"), index.append("}}").toString());
        GptModel loaded = (GptModel) ModelDirectory.load(dir, new GenericKernels(), DataType.FLOAT);
        assertEquals(m.parameters().flat(), loaded.parameters().flat());
    }

    private Path saved() throws IOException {
        Map<String, INDArray> t = new LinkedHashMap<>();
        t.put("a", Nd4j.arange(0, 12).castTo(DataType.FLOAT).reshape(3, 4));
        t.put("b", Nd4j.arange(0, 5).castTo(DataType.FLOAT));
        Path f = tmp.resolve("t.safetensors");
        Safetensors.write(f, t, Map.of("k", "v"));
        return f;
    }

    @Test
    void roundTripKeepsValuesShapesAndMetadata() throws IOException {
        try (Safetensors.Reader r = Safetensors.open(saved())) {
            assertArrayEquals(new long[] {3, 4}, r.tensors().get("a").shape());
            assertArrayEquals(new float[] {0, 1, 2, 3, 4}, r.readFloats("b"));
            assertEquals("v", r.metadata().get("k"));
        }
    }

    @Test
    void everyTruncationIsRefusedWithAClearError() throws IOException {
        byte[] full = Files.readAllBytes(saved());
        for (int len : new int[] {0, 4, 8, 20, full.length / 2, full.length - 1}) {
            Path f = tmp.resolve("cut-" + len + ".safetensors");
            Files.write(f, Arrays.copyOf(full, len));
            IOException e = assertThrows(IOException.class, () -> {
                try (Safetensors.Reader r = Safetensors.open(f)) {
                    r.readFloats("a");
                    r.readFloats("b");
                }
            });
            assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
            assertTrue(e.getMessage().matches(".*(truncated|corrupt|shorter).*"), e.getMessage());
        }
    }

    private Path withHeader(String json, int dataBytes) throws IOException {
        byte[] h = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path f = Files.createTempFile(tmp, "bad", ".safetensors");
        Files.write(f, b.array());
        return f;
    }

    private static String messageOf(Path f) {
        return assertThrows(IOException.class, () -> Safetensors.open(f).close()).getMessage();
    }

    @Test
    void corruptHeadersAreRefused() throws IOException {
        // header length larger than the file: must not allocate it
        Path huge = tmp.resolve("huge.safetensors");
        Files.write(huge, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(Long.MAX_VALUE / 2).array());
        assertTrue(messageOf(huge).contains("header length"));
        assertTrue(messageOf(withHeader("{not json", 0)).contains("not valid JSON"));
        assertTrue(messageOf(withHeader("[1,2]", 0)).contains("JSON object"));
        assertTrue(messageOf(withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4))
                .contains("past the end"));
        assertTrue(messageOf(withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8))
                .contains("needs 12 bytes"));
        assertTrue(messageOf(withHeader("{\"a\":{\"dtype\":\"Q7\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8))
                .contains("unknown dtype"));
        assertTrue(messageOf(withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8))
                .contains("bad dimension"));
        assertTrue(messageOf(withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12)).contains("overlap"));
        assertTrue(messageOf(withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4],"
                + "\"data_offsets\":[0,8]}}", 8)).contains("too large"));
    }

    @Test
    void mismatchedWeightsNameWhatIsMissingOrUnexpected() throws IOException {
        GptModel m = tinyModel();
        Path dir = tmp.resolve("mismatch");
        ModelDirectory.save(m, dir);
        Map<String, INDArray> t = new LinkedHashMap<>();
        for (String name : m.parameters().names()) {
            if (!name.equals("ln_f.bias")) {
                t.put(name, m.parameters().get(name));
            }
        }
        t.put("h.0.attn.bias", Nd4j.ones(DataType.FLOAT, 1, 1, 12, 12)); // buffer: ignored
        t.put("classifier.weight", Nd4j.ones(DataType.FLOAT, 2, 16)); // foreign (score.weight would be a reward head, ignored)
        Safetensors.write(dir.resolve("model.safetensors"), t, null);
        IOException e = assertThrows(IOException.class,
                () -> ModelDirectory.load(dir, new GenericKernels(), DataType.FLOAT));
        assertTrue(e.getMessage().contains("missing tensors: ln_f.bias"), e.getMessage());
        assertTrue(e.getMessage().contains("unexpected tensors: classifier.weight"), e.getMessage());
    }

    @Test
    void unsupportedGpt2VariantsAreRefused() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("variant"));
        String base = "{\"vocab_size\": 10, \"n_embd\": 8, \"n_layer\": 1, \"n_head\": 2, \"n_positions\": 8";
        for (String extra : new String[] {", \"scale_attn_by_inverse_layer_idx\": true}",
            ", \"scale_attn_weights\": false}", ", \"activation_function\": \"relu\"}",
            ", \"tie_word_embeddings\": false}"}) {
            Files.writeString(dir.resolve("config.json"), base + extra);
            IOException e = assertThrows(IOException.class,
                    () -> ModelDirectory.load(dir, new GenericKernels(), DataType.FLOAT));
            assertTrue(e.getMessage().contains("not supported"), e.getMessage());
        }
    }

    @Test
    void badConfigIsReportedWithTheFileName() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("badcfg"));
        Files.writeString(dir.resolve("config.json"), "{\"vocab_size\": 10, \"n_embd\": 10, \"n_layer\": 1,"
                + " \"n_head\": 3, \"n_positions\": 8}");
        IOException e = assertThrows(IOException.class,
                () -> ModelDirectory.load(dir, new GenericKernels(), DataType.FLOAT));
        assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains("divisible"), e.getMessage());
    }

    @Test
    void aConfigThatDisagreesWithItsWeightsIsRefusedBeforeAnythingIsAllocated() throws IOException {
        for (int nEmbd : new int[] {19200, 1_000_000}) {
            GptModel m = tinyModel();
            Path dir = tmp.resolve("huge-" + nEmbd);
            ModelDirectory.save(m, dir);
            String config = Files.readString(dir.resolve("config.json")).replaceFirst("\"n_embd\" : \\d+",
                    "\"n_embd\" : " + nEmbd).replaceFirst("\"n_head\" : \\d+", "\"n_head\" : 4");
            Files.writeString(dir.resolve("config.json"), config);
            IOException e = assertThrows(IOException.class,
                    () -> ModelDirectory.load(dir, new GenericKernels(), DataType.FLOAT));
            assertTrue(e.getMessage().contains("weights do not match config.json") && e.getMessage().contains("wte.weight"),
                    e.getMessage());
        }
    }

    @Test
    void aModelLargerThanTheMemoryLimitIsRefusedWithTheNumbers() throws IOException {
        GptModel m = tinyModel();
        Path dir = tmp.resolve("too-big");
        ModelDirectory.save(m, dir);
        // the shapes agree (only the header is written), but 40,000-wide layers need ~80 GB
        GptConfig big = GptConfig.of(m.config().vocabSize(), m.config().nPositions(), 40_000, 4, 4);
        big.write(dir.resolve("config.json"));
        Map<String, INDArray> none = new LinkedHashMap<>();
        Safetensors.write(dir.resolve("model.safetensors"), none, null);
        IOException e = assertThrows(IOException.class,
                () -> ModelDirectory.load(dir, new GenericKernels(), DataType.FLOAT));
        assertTrue(e.getMessage().contains("GB, more than the") && e.getMessage().contains("maxbytes"), e.getMessage());
    }
}
