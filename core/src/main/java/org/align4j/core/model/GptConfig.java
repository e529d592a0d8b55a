package org.align4j.core.model;

import org.align4j.core.util.UserInputException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.util.AtomicFiles;

/**
 * GPT-2 hyper-parameters under the keys of Hugging Face's {@code config.json}. Keys we do not
 * use are kept in {@code extra} and written back, so a real checkpoint's config survives a
 * load/save round trip.
 */
public record GptConfig(int vocabSize, int nPositions, int nEmbd, int nLayer, int nHead, double layerNormEpsilon,
                        Integer nInner, int bosTokenId, int eosTokenId, Map<String, JsonNode> extra)
        implements DecoderConfig {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final java.util.Set<String> KNOWN = java.util.Set.of("vocab_size", "n_positions", "n_ctx", "n_embd",
            "n_layer", "n_head", "layer_norm_epsilon", "n_inner", "bos_token_id", "eos_token_id",
            "activation_function", "model_type", "tie_word_embeddings",
            // written by ModelDirectory.save from the model itself (LM or sequence classification)
            "architectures", "num_labels", "id2label", "label2id");

    public GptConfig {
        require(vocabSize > 0, "vocab_size must be positive, got " + vocabSize);
        require(nPositions > 0, "n_positions must be positive, got " + nPositions);
        require(nEmbd > 0 && nLayer > 0 && nHead > 0, "n_embd, n_layer and n_head must be positive");
        require(nEmbd % nHead == 0, "n_embd (" + nEmbd + ") must be divisible by n_head (" + nHead + ")");
        require(nInner == null || nInner > 0, "n_inner must be positive or null");
        extra = extra == null ? Map.of() : Map.copyOf(extra);
    }

    /** A config with GPT-2's defaults for everything but the shape. */
    public static GptConfig of(int vocabSize, int nPositions, int nEmbd, int nLayer, int nHead) {
        return new GptConfig(vocabSize, nPositions, nEmbd, nLayer, nHead, 1e-5, null, vocabSize - 1, vocabSize - 1,
                Map.of());
    }

    public int headSize() {
        return nEmbd / nHead;
    }

    @Override
    public int contextLength() {
        return nPositions;
    }

    @Override
    public int hiddenSize() {
        return nEmbd;
    }

    @Override
    public int layerCount() {
        return nLayer;
    }

    /** Width of the MLP's hidden layer. */
    public int mlpWidth() {
        return nInner != null ? nInner : 4 * nEmbd;
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new UserInputException("config.json: " + message);
        }
    }

    public static GptConfig read(Path file) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new IOException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        if (root.isObject() && Architecture.of(root, file.toString()) != Architecture.GPT2) {
            throw new UserInputException(file + ": model_type '" + root.get("model_type").asText()
                    + "' is not GPT-2's");
        }
        try {
            return fromJson(root);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    static GptConfig fromJson(JsonNode root) {
        if (!root.isObject()) {
            throw new UserInputException("config.json must be a JSON object");
        }
        String activation = root.path("activation_function").asText("gelu_new");
        if (!activation.equals("gelu_new") && !activation.equals("gelu_pytorch_tanh")) {
            throw new UserInputException("activation_function '" + activation
                    + "' is not supported (GPT-2 uses gelu_new, the tanh approximation)");
        }
        // variants of GPT-2's attention that this implementation does not compute: refuse rather than be wrong
        if (root.path("scale_attn_by_inverse_layer_idx").asBoolean(false)) {
            throw new UserInputException("scale_attn_by_inverse_layer_idx=true is not supported");
        }
        if (!root.path("scale_attn_weights").asBoolean(true)) {
            throw new UserInputException("scale_attn_weights=false is not supported");
        }
        if (root.has("tie_word_embeddings") && !root.get("tie_word_embeddings").asBoolean()) {
            throw new UserInputException("tie_word_embeddings=false is not supported: the LM head is tied");
        }
        Map<String, JsonNode> extra = new LinkedHashMap<>();
        root.fields().forEachRemaining(e -> {
            if (!KNOWN.contains(e.getKey())) {
                extra.put(e.getKey(), e.getValue());
            }
        });
        int vocab = intField(root, "vocab_size", null);
        int positions = intField(root, "n_positions", root.has("n_ctx") ? root.get("n_ctx").asInt() : null);
        JsonNode inner = root.get("n_inner");
        return new GptConfig(vocab, positions, intField(root, "n_embd", null), intField(root, "n_layer", null),
                intField(root, "n_head", null), root.path("layer_norm_epsilon").asDouble(1e-5),
                inner == null || inner.isNull() ? null : inner.asInt(),
                root.path("bos_token_id").asInt(vocab - 1), root.path("eos_token_id").asInt(vocab - 1), extra);
    }

    private static int intField(JsonNode root, String key, Integer fallback) {
        JsonNode n = root.get(key);
        if (n == null || n.isNull()) {
            if (fallback != null) {
                return fallback;
            }
            throw new UserInputException("missing field '" + key + "'");
        }
        if (!n.canConvertToInt()) {
            throw new UserInputException("field '" + key + "' must be an integer, got " + n);
        }
        return n.asInt();
    }

    public ObjectNode toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("model_type", "gpt2");
        o.putArray("architectures").add("GPT2LMHeadModel");
        o.put("vocab_size", vocabSize);
        o.put("n_positions", nPositions);
        o.put("n_ctx", nPositions);
        o.put("n_embd", nEmbd);
        o.put("n_layer", nLayer);
        o.put("n_head", nHead);
        if (nInner == null) {
            o.putNull("n_inner");
        } else {
            o.put("n_inner", nInner);
        }
        o.put("activation_function", "gelu_new");
        o.put("layer_norm_epsilon", layerNormEpsilon);
        o.put("bos_token_id", bosTokenId);
        o.put("eos_token_id", eosTokenId);
        o.put("tie_word_embeddings", true);
        extra.forEach((k, v) -> {
            if (!o.has(k)) {
                o.set(k, v);
            }
        });
        return o;
    }

    public void write(Path file) throws IOException {
        AtomicFiles.writeString(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(toJson()) + "\n");
    }
}
