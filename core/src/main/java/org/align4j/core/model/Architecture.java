package org.align4j.core.model;

import java.util.List;
import java.util.Locale;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.kernels.Kernels;
import org.align4j.core.util.UserInputException;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The decoder families align4j builds from a shape (for {@code init} and {@code bench}): GPT-2,
 * Llama (SmolLM2 and Llama 3 are this shape) and Qwen2 (Llama with q/k/v biases).
 */
public enum Architecture {
    GPT2, LLAMA, QWEN2;

    /** Hugging Face's class-name prefix of each family (then LMHeadModel or ForCausalLM, ForSequenceClassification). */
    private static final Map<Architecture, String> CLASS_PREFIX = Map.of(GPT2, "GPT2", LLAMA, "Llama", QWEN2, "Qwen2");

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The family a {@code config.json} names by {@code model_type} (missing: gpt2, as early GPT-2
     * configs), its {@code architectures} checked against it. Another model_type (mistral, gemma,
     * ...) or an architecture of another family is refused naming {@code where} and the key: its
     * weights would be read in a layout they do not have, and the config rewritten as ours.
     */
    public static Architecture of(JsonNode config, String where) {
        JsonNode t = config.path("model_type");
        if (!t.isMissingNode() && !t.isNull() && !t.isTextual()) {
            throw new UserInputException(where + ": model_type must be a string, got " + t);
        }
        String type = t.isTextual() ? t.asText() : "gpt2";
        Architecture family = null;
        for (Architecture a : values()) {
            if (a.toString().equals(type)) {
                family = a;
            }
        }
        if (family == null) {
            throw new UserInputException(where + ": model_type '" + type + "' is not supported (gpt2, llama, qwen2);"
                    + " refusing rather than reading its weights as another family's");
        }
        String prefix = CLASS_PREFIX.get(family);
        String lm = prefix + (family == GPT2 ? "LMHeadModel" : "ForCausalLM");
        List<String> known = List.of(lm, prefix + "ForSequenceClassification", prefix + "Model");
        for (JsonNode a : config.path("architectures")) {
            if (!a.isTextual() || !known.contains(a.asText())) {
                throw new UserInputException(where + ": architectures names " + a + ", which is not a " + type
                        + " model (model_type '" + type + "': " + lm + " or " + known.get(1) + ")");
            }
        }
        return family;
    }

    /** The config's scalar-head class ({@code *ForSequenceClassification}), or null. */
    public static String sequenceClassification(JsonNode config) {
        for (JsonNode a : config.path("architectures")) {
            if (a.asText().endsWith("ForSequenceClassification")) {
                return a.asText();
            }
        }
        return null;
    }

    /**
     * A model's shape. {@code kvHeads} and {@code intermediate} apply to the Llama family (GPT-2's
     * MLP is 4 x hidden); {@code tied} too (GPT-2 is always tied).
     */
    public record Shape(int vocab, int context, int hidden, int layers, int heads, int kvHeads, int intermediate,
                        boolean tied, double ropeTheta) {
    }

    /** The config of a model of {@code shape} whose end of sequence (and begin, for Llama) is {@code eos}. */
    public DecoderConfig config(Shape s, int eos) {
        if (this == GPT2) {
            return new GptConfig(s.vocab(), s.context(), s.hidden(), s.layers(), s.heads(), 1e-5, null, eos, eos,
                    Map.of());
        }
        return new LlamaConfig(this == QWEN2 ? "qwen2" : "llama", s.vocab(), s.hidden(), s.intermediate(), s.layers(),
                s.heads(), s.kvHeads(), 1e-5, s.ropeTheta(), null, s.context(), s.tied(), this == QWEN2, eos,
                List.of(eos));
    }

    /** A randomly initialised fp32 model of this family. */
    public DecoderModel randomModel(DecoderConfig config, Kernels kernels, long seed) {
        if (config instanceof GptConfig g) {
            return new GptModel(g, kernels, DataType.FLOAT).initialize(seed);
        }
        return new LlamaModel((LlamaConfig) config, kernels, DataType.FLOAT).initialize(seed);
    }
}
