package org.align4j.core.checkpoint;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import org.align4j.core.kernels.Kernels;
import org.align4j.core.model.LlamaConfig;
import org.align4j.core.model.DecoderConfig;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.model.LlamaModel;
import org.align4j.core.model.LoraConfig;
import org.align4j.core.model.QuantizedWeights;
import org.align4j.core.model.ParameterSet;
import org.align4j.core.model.Trainable;
import org.align4j.core.util.AtomicFiles;
import org.align4j.core.util.Json;

/**
 * A Llama-family model directory in Hugging Face's layout: {@code config.json}, and
 * {@code model.safetensors} or shards listed in {@code model.safetensors.index.json}, in F32, F16
 * or BF16, with HF's tensor names. Saving writes the same layout (F32 or BF16, sharded above a
 * size). A tied model's stored {@code lm_head.weight} and rotary {@code inv_freq} buffers are
 * ignored; any other tensor the config does not explain, or one it needs and the files lack, is
 * an error naming it.
 */
public final class LlamaDirectory {

    private static final Pattern IGNORED = Pattern.compile("model\\.layers\\.\\d+\\.self_attn\\.rotary_emb\\.inv_freq");

    private LlamaDirectory() {
    }

    /** Whether {@code dir}'s config names a Llama-family model. */
    public static boolean isLlama(Path dir) {
        try {
            String type = Json.readObjectFile(dir.resolve(ModelDirectory.CONFIG)).path("model_type").asText("");
            return type.equals("llama") || type.equals("qwen2");
        } catch (IOException e) {
            return false;
        }
    }

    public static LlamaModel load(Path dir, Kernels kernels, DataType type) throws IOException {
        return load(dir, kernels, type, false, c -> Trainable.ALL, null, null);
    }

    /**
     * Loads a causal LM or a {@code LlamaForSequenceClassification} directory. With
     * {@code scoreHead} the model has {@code score.weight} (read when stored, else zero) and no
     * output layer (a stored {@code lm_head.weight} is ignored); without it a stored score head is
     * ignored, so a tied reward model loads as a language model too. With {@code lora}, its
     * adapters (not read here) join the model and the base is frozen; with {@code quantize} too,
     * the projections are read one tensor at a time into their quantized form.
     */
    public static LlamaModel load(Path dir, Kernels kernels, DataType type, boolean scoreHead,
                                  Function<DecoderConfig, Trainable> trainable, LoraConfig lora,
                                  QuantizedWeights.Kind quantize) throws IOException {
        LlamaConfig config = LlamaConfig.read(dir.resolve(ModelDirectory.CONFIG));
        List<ParameterSet.Spec> layout = LlamaModel.layout(config);
        Map<String, long[]> expected = new HashMap<>();
        layout.forEach(sp -> expected.put(sp.name(), sp.shape()));
        ModelDirectory.checkMemory(dir, layout, type);
        LlamaModel m = new LlamaModel(config, kernels, type, scoreHead, trainable.apply(config), lora, quantize);
        Set<String> found = new LinkedHashSet<>();
        List<String> unexpected = new ArrayList<>();
        for (Path file : ModelDirectory.weightFiles(dir)) {
            try (Safetensors.Reader r = Safetensors.open(file)) {
                for (String name : r.tensors().keySet()) {
                    boolean unusedHead = name.equals("lm_head.weight") && (config.tieWordEmbeddings() || scoreHead);
                    boolean unusedScore = name.equals(DecoderModel.SCORE_HEAD) && !scoreHead;
                    if (IGNORED.matcher(name).matches() || unusedHead || unusedScore) {
                        continue;
                    }
                    if (m.keepsQuantized(name)) {
                        long[] stored = r.tensors().get(name).shape();
                        if (!Arrays.equals(stored, expected.get(name))) {
                            throw new IOException(file + ": tensor '" + name + "' has shape " + Arrays.toString(stored)
                                    + ", config.json implies " + Arrays.toString(expected.get(name)));
                        }
                        m.quantized().put(name, stored, r.readFloats(name));
                        found.add(name);
                        continue;
                    }
                    if (!m.parameters().has(name)) {
                        unexpected.add(name);
                        continue;
                    }
                    r.readInto(name, m.parameters().get(name));
                    found.add(name);
                }
            }
        }
        List<String> missing = new ArrayList<>(m.parameters().names().stream()
                .filter(n -> !found.contains(n) && !n.equals(DecoderModel.SCORE_HEAD) && !LoraConfig.isAdapterTensor(n)).toList());
        missing.addAll(m.missingQuantized());
        if (!missing.isEmpty() || !unexpected.isEmpty()) {
            throw new IOException(dir + ": weights do not match config.json"
                    + (missing.isEmpty() ? "" : "; missing tensors: " + first(missing))
                    + (unexpected.isEmpty() ? "" : "; unexpected tensors: " + first(unexpected)));
        }
        return m;
    }

    private static String first(List<String> names) {
        return names.size() <= 6 ? String.join(", ", names) : String.join(", ", names.subList(0, 6)) + " and "
                + (names.size() - 6) + " more";
    }

    /**
     * Writes {@code config.json} and the weights in {@code dtype} ("F32" or "BF16"): one
     * {@code model.safetensors}, or when larger than {@code shardBytes} HF's shards
     * {@code model-0000i-of-0000n.safetensors} and {@code model.safetensors.index.json}.
     */
    public static void save(LlamaModel m, Path dir, String dtype, long shardBytes) throws IOException {
        Files.createDirectories(dir);
        int width = dtype.equals("BF16") ? 2 : 4;
        List<Map<String, INDArray>> shards = new ArrayList<>();
        Map<String, INDArray> current = new LinkedHashMap<>();
        long size = 0;
        long total = 0;
        for (String name : m.parameters().names()) {
            INDArray t = m.parameters().get(name);
            long bytes = t.length() * width;
            if (!current.isEmpty() && size + bytes > shardBytes) {
                shards.add(current);
                current = new LinkedHashMap<>();
                size = 0;
            }
            current.put(name, t);
            size += bytes;
            total += bytes;
        }
        shards.add(current);
        if (shards.size() == 1) {
            Safetensors.write(dir.resolve(ModelDirectory.WEIGHTS), shards.get(0), Map.of("format", "pt"), dtype);
        } else {
            ObjectNode index = Json.MAPPER.createObjectNode();
            index.putObject("metadata").put("total_size", total);
            ObjectNode map = index.putObject("weight_map");
            for (int i = 0; i < shards.size(); i++) {
                String file = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
                Safetensors.write(dir.resolve(file), shards.get(i), Map.of("format", "pt"), dtype);
                shards.get(i).keySet().forEach(n -> map.put(n, file));
            }
            AtomicFiles.writeString(dir.resolve(ModelDirectory.WEIGHTS_INDEX),
                    Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(index) + "\n");
        }
        ObjectNode config = m.config().toJson();
        config.put("torch_dtype", dtype.equals("BF16") ? "bfloat16" : "float32");
        if (m.hasScoreHead()) {
            ModelDirectory.markSequenceClassification(config, m.config().modelType().equals("qwen2")
                    ? "Qwen2ForSequenceClassification" : "LlamaForSequenceClassification", m.config().eosTokenId());
        }
        AtomicFiles.writeString(dir.resolve(ModelDirectory.CONFIG),
                Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(config) + "\n");
    }
}
