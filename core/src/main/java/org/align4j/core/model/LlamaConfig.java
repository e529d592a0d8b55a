package org.align4j.core.model;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.util.Json;
import org.align4j.core.util.UserInputException;

/**
 * The hyper-parameters of a Llama-family model ({@code LlamaForCausalLM}, {@code Qwen2ForCausalLM})
 * under the keys of Hugging Face's {@code config.json}: width, MLP width, blocks, query and
 * key/value heads (grouped-query attention when fewer), RMSNorm epsilon, rotary base, context,
 * tied or untied output layer, biases on q/k/v (Qwen2 always; Llama with {@code attention_bias}),
 * and the special token ids ({@code eos_token_id} a number or a list: every one stops generation).
 * A {@code rope_scaling} other than none or Llama 3's is refused rather than applied wrongly.
 */
public record LlamaConfig(String modelType, int vocabSize, int hiddenSize, int intermediateSize, int numLayers,
                          int numHeads, int numKvHeads, double rmsNormEps, double ropeTheta, RopeScaling ropeScaling,
                          int maxPositions, boolean tieWordEmbeddings, boolean qkvBias, Integer bosTokenId,
                          List<Integer> eosTokenIds) implements DecoderConfig {

    /** Llama 3.1's frequency-dependent rotary scaling ({@code rope_type: "llama3"}). */
    public record RopeScaling(double factor, double lowFreqFactor, double highFreqFactor,
                              int originalMaxPositions) {
    }

    public LlamaConfig {
        require(vocabSize > 0 && hiddenSize > 0 && intermediateSize > 0 && numLayers > 0,
                "vocab_size, hidden_size, intermediate_size and num_hidden_layers must be positive");
        require(numHeads > 0 && hiddenSize % numHeads == 0, "hidden_size (" + hiddenSize
                + ") must be divisible by num_attention_heads (" + numHeads + ")");
        require(numKvHeads > 0 && numHeads % numKvHeads == 0, "num_attention_heads (" + numHeads
                + ") must be divisible by num_key_value_heads (" + numKvHeads + ")");
        require((hiddenSize / numHeads) % 2 == 0, "the head size (" + hiddenSize / numHeads
                + ") must be even for rotary embeddings");
        require(rmsNormEps > 0 && ropeTheta > 0 && maxPositions > 0,
                "rms_norm_eps, rope_theta and max_position_embeddings must be positive");
        eosTokenIds = List.copyOf(eosTokenIds);
    }

    @Override
    public int contextLength() {
        return maxPositions;
    }

    @Override
    public int layerCount() {
        return numLayers;
    }

    /** The first of the config's end-of-sequence ids; without one, the last id of the vocabulary. */
    @Override
    public int eosTokenId() {
        return eosTokenIds.isEmpty() ? vocabSize - 1 : eosTokenIds.get(0);
    }

    public int headSize() {
        return hiddenSize / numHeads;
    }

    /** The rotary inverse frequencies of this model's heads, Llama 3's scaling applied where configured. */
    public double[] inverseFrequencies() {
        return inverseFrequencies(headSize(), ropeTheta, ropeScaling);
    }

    /**
     * {@code theta^(-2i/headSize)} for {@code i < headSize/2}; with Llama 3's scaling (Hugging Face's
     * {@code _compute_llama3_parameters}): wavelengths above {@code original / low_freq_factor}
     * divide their frequency by {@code factor}, those below {@code original / high_freq_factor}
     * keep it, and those between interpolate smoothly.
     */
    public static double[] inverseFrequencies(int headSize, double theta, RopeScaling scaling) {
        double[] f = new double[headSize / 2];
        for (int i = 0; i < f.length; i++) {
            double base = Math.pow(theta, -2.0 * i / headSize);
            f[i] = base;
            if (scaling == null) {
                continue;
            }
            double old = scaling.originalMaxPositions();
            double wavelength = 2 * Math.PI / base;
            if (wavelength > old / scaling.lowFreqFactor()) {
                f[i] = base / scaling.factor();
            } else if (wavelength >= old / scaling.highFreqFactor()) {
                double smooth = (old / wavelength - scaling.lowFreqFactor())
                        / (scaling.highFreqFactor() - scaling.lowFreqFactor());
                f[i] = (1 - smooth) * base / scaling.factor() + smooth * base;
            }
        }
        return f;
    }

    /** Query heads per key/value head (1: ordinary multi-head attention). */
    public int groupSize() {
        return numHeads / numKvHeads;
    }

    /** Hugging Face's {@code config.json} of this model. */
    public ObjectNode toJson() {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.putArray("architectures").add(modelType.equals("qwen2") ? "Qwen2ForCausalLM" : "LlamaForCausalLM");
        o.put("model_type", modelType);
        o.put("vocab_size", vocabSize);
        o.put("hidden_size", hiddenSize);
        o.put("intermediate_size", intermediateSize);
        o.put("num_hidden_layers", numLayers);
        o.put("num_attention_heads", numHeads);
        o.put("num_key_value_heads", numKvHeads);
        o.put("hidden_act", "silu");
        o.put("rms_norm_eps", rmsNormEps);
        o.put("rope_theta", ropeTheta);
        if (ropeScaling != null) {
            o.putObject("rope_scaling").put("rope_type", "llama3").put("factor", ropeScaling.factor())
                    .put("low_freq_factor", ropeScaling.lowFreqFactor())
                    .put("high_freq_factor", ropeScaling.highFreqFactor())
                    .put("original_max_position_embeddings", ropeScaling.originalMaxPositions());
        } else {
            o.putNull("rope_scaling");
        }
        o.put("max_position_embeddings", maxPositions);
        o.put("tie_word_embeddings", tieWordEmbeddings);
        if (modelType.equals("llama")) {
            o.put("attention_bias", qkvBias);
        }
        if (bosTokenId != null) {
            o.put("bos_token_id", bosTokenId);
        }
        if (eosTokenIds.size() == 1) {
            o.put("eos_token_id", eosTokenIds.get(0));
        } else {
            eosTokenIds.forEach(o.putArray("eos_token_id")::add);
        }
        return o;
    }

    public static LlamaConfig read(Path file) throws IOException {
        ObjectNode c = Json.readObjectFile(file);
        String type = c.path("model_type").asText("");
        if (!type.equals("llama") && !type.equals("qwen2")) {
            throw new UserInputException(file + ": model_type '" + type + "' is not a Llama-family model (llama,"
                    + " qwen2)");
        }
        String where = file.toString();
        Architecture.of(c, where);
        int hidden = intKey(c, "hidden_size", where);
        int heads = intKey(c, "num_attention_heads", where);
        List<Integer> eos = new ArrayList<>();
        JsonNode e = c.path("eos_token_id");
        if (e.isArray()) {
            e.forEach(x -> eos.add(x.asInt()));
        } else if (e.canConvertToInt()) {
            eos.add(e.asInt());
        }
        boolean qwen = type.equals("qwen2");
        if (c.path("use_sliding_window").asBoolean(false)) {
            throw new UserInputException(file + ": use_sliding_window = true is not supported (full causal attention"
                    + " only); refusing rather than attending differently from the model");
        }
        try {
            return new LlamaConfig(type, intKey(c, "vocab_size", where), hidden, intKey(c, "intermediate_size", where),
                    intKey(c, "num_hidden_layers", where), heads,
                    c.has("num_key_value_heads") && !c.get("num_key_value_heads").isNull()
                            ? c.get("num_key_value_heads").asInt() : heads,
                    c.path("rms_norm_eps").asDouble(1e-6), c.path("rope_theta").asDouble(10000.0),
                    ropeScaling(c.path("rope_scaling"), where), intKey(c, "max_position_embeddings", where),
                    c.path("tie_word_embeddings").asBoolean(false),
                    qwen || c.path("attention_bias").asBoolean(false),
                    c.path("bos_token_id").canConvertToInt() ? c.get("bos_token_id").asInt() : null, eos);
        } catch (UserInputException ex) {
            // the record's own checks do not know the file; the key readers name it already
            throw ex.getMessage().startsWith(where) ? ex : new UserInputException(file + ": " + ex.getMessage());
        }
    }

    private static RopeScaling ropeScaling(JsonNode s, String where) {
        if (s.isMissingNode() || s.isNull()) {
            return null;
        }
        String kind = s.path("rope_type").asText(s.path("type").asText("")).toLowerCase(Locale.ROOT);
        if (!kind.equals("llama3")) {
            throw new UserInputException(where + ": rope_scaling of type '" + kind + "' is not supported (none, or"
                    + " llama3); refusing rather than computing positions wrongly");
        }
        // a missing or non-numeric field must not read as 0 (scaling silently off, and written back so)
        double factor = ropeNumber(s, "factor", where);
        double low = ropeNumber(s, "low_freq_factor", where);
        double high = ropeNumber(s, "high_freq_factor", where);
        JsonNode original = s.path("original_max_position_embeddings");
        if (!original.isIntegralNumber() || !original.canConvertToInt() || original.asInt() < 1) {
            throw new UserInputException(where + ": rope_scaling.original_max_position_embeddings must be a positive"
                    + " whole number, got " + (original.isMissingNode() ? "nothing" : original));
        }
        if (factor < 1 || low <= 0 || high <= low) {
            throw new UserInputException(where + ": rope_scaling needs factor >= 1 and 0 < low_freq_factor <"
                    + " high_freq_factor, got factor " + factor + ", low_freq_factor " + low + ", high_freq_factor "
                    + high);
        }
        return new RopeScaling(factor, low, high, original.asInt());
    }

    private static double ropeNumber(JsonNode s, String key, String where) {
        JsonNode n = s.path(key);
        if (!n.isNumber() || !Double.isFinite(n.asDouble())) {
            throw new UserInputException(where + ": rope_scaling." + key + " must be a number, got "
                    + (n.isMissingNode() ? "nothing" : n));
        }
        return n.asDouble();
    }

    private static int intKey(ObjectNode c, String key, String where) {
        if (!c.path(key).canConvertToInt()) {
            throw new UserInputException(where + ": '" + key + "' (a whole number) is missing");
        }
        return c.get(key).asInt();
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new UserInputException(message);
        }
    }
}
