package org.align4j.core.checkpoint;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.nd4j.linalg.api.ndarray.INDArray;

import org.align4j.core.model.DecoderModel;
import org.align4j.core.model.GptConfig;
import org.align4j.core.model.GptModel;
import org.align4j.core.model.LlamaConfig;
import org.align4j.core.model.LoraConfig;
import org.align4j.core.model.ParameterSet;
import org.align4j.core.model.QuantizedWeights;
import org.align4j.core.util.AtomicFiles;
import org.align4j.core.util.Json;

/**
 * An adapter directory in Hugging Face PEFT's format for each method align4j trains: LoRA (below),
 * IA3 ({@code peft_type} IA3, {@code target_modules}, {@code feedforward_modules},
 * {@code ...ia3_l} vectors), prompt tuning (PROMPT_TUNING, {@code num_virtual_tokens},
 * {@code prompt_tuning_init}, the one tensor {@code prompt_embeddings [n, hidden]}) and prefix tuning
 * (PREFIX_TUNING, {@code prompt_embeddings [n, layers * 2 * token_dim]}, with a projection its
 * output, the MLP in {@value #PREFIX_ENCODER}). A key outside a method's PEFT config class is
 * refused by name.
 *
 * <p>LoRA: a directory in Hugging Face PEFT's format, so that {@code PeftModel.from_pretrained}
 * loads what align4j trains and align4j loads what PEFT saves: {@code adapter_config.json}
 * ({@code peft_type} LORA, {@code r}, {@code lora_alpha}, {@code lora_dropout}, {@code use_rslora},
 * {@code use_dora} (DoRA's magnitudes as {@code ...lora_magnitude_vector} {@code [out]}),
 * {@code target_modules}, {@code fan_in_fan_out} true for GPT-2's Conv1D and false for the Llama
 * family's Linear, {@code bias} none, {@code task_type}, {@code base_model_name_or_path}) and
 * {@code adapter_model.safetensors} with PEFT's names
 * ({@code base_model.model.transformer.h.0.attn.c_attn.lora_A.weight},
 * {@code base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight} {@code [r, in]},
 * {@code ...lora_B.weight} {@code [out, r]}; a reward model's head as
 * {@code base_model.model.score.weight}, PEFT's {@code modules_to_save}).
 *
 * <p>An adapter align4j writes names its base relative to itself, so that it is found from any
 * working directory and when a run directory moves together with its base. What PEFT's config has
 * no key for (the base's quantization, QLoRA) sits in align4j's own file beside it
 * ({@value #ALIGN4J}), which PEFT's readers never open: scoring an adapter then uses the base it
 * was trained on.
 */
public final class PeftAdapter {

    public static final String CONFIG = "adapter_config.json";
    public static final String WEIGHTS = "adapter_model.safetensors";
    /** align4j's own settings of an adapter, beside PEFT's config. */
    public static final String ALIGN4J = "align4j_adapter.json";
    private static final String PREFIX = "base_model.model.";
    private static final String HEAD = "base_model.model.score.weight";
    /** Prompt tuning's tensor, saved by PEFT under this name alone ({@code [num_virtual_tokens, token_dim]}). */
    private static final String PROMPT = "prompt_embeddings";
    /** align4j's file of prefix tuning's reparameterisation MLP, which PEFT does not save. */
    public static final String PREFIX_ENCODER = "align4j_prefix_encoder.safetensors";
    private static final String ENCODER_PREFIX = "prefix_encoder.";

    /** What an adapter directory says about itself. */
    public record Info(LoraConfig lora, String baseModel, boolean scoreHead) {
    }

    private PeftAdapter() {
    }

    public static boolean isAdapter(Path dir) {
        return Files.isRegularFile(dir.resolve(CONFIG));
    }

    /** Reads {@code adapter_config.json}; anything align4j cannot apply exactly is refused, naming the key. */
    public static Info read(Path dir) throws IOException {
        Path file = dir.resolve(CONFIG);
        ObjectNode c = Json.readObjectFile(file);
        if ("IA3".equals(c.path("peft_type").asText())) {
            return readIa3(c, file);
        }
        if ("PROMPT_TUNING".equals(c.path("peft_type").asText())) {
            return readPromptTuning(c, file);
        }
        if ("PREFIX_TUNING".equals(c.path("peft_type").asText())) {
            return readPrefixTuning(c, file);
        }
        if (!"LORA".equals(c.path("peft_type").asText())) {
            throw new IOException(file + ": peft_type '" + c.path("peft_type").asText()
                    + "' is none of LORA, IA3, PROMPT_TUNING, PREFIX_TUNING");
        }
        if (!"none".equals(c.path("bias").asText("none"))) {
            throw new IOException(file + ": bias '" + c.path("bias").asText() + "' is not supported (only none)");
        }
        // settings that would give modules their own rank, scale or layers, or change which tensors
        // carry adapters: align4j's adapters share one setting and sit on target_modules only
        for (String perModule : List.of("rank_pattern", "alpha_pattern", "layers_to_transform", "layers_pattern",
                "exclude_modules", "layer_replication", "target_parameters", "trainable_token_indices")) {
            JsonNode v = c.path(perModule);
            if (!v.isMissingNode() && !v.isNull() && !(v.isContainerNode() && v.isEmpty())) {
                throw new IOException(file + ": " + perModule + " is not supported (only one setting for all modules)");
            }
        }
        for (String unsupported : List.of("lora_bias", "use_qalora")) {
            if (c.path(unsupported).asBoolean(false)) {
                throw new IOException(file + ": " + unsupported + " is not supported");
            }
        }
        double dropout = c.path("lora_dropout").asDouble(0);
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IOException(file + ": lora_dropout " + dropout + " is outside [0, 1)");
        }
        List<String> targets = new ArrayList<>();
        JsonNode t = c.path("target_modules");
        if (t.isTextual()) {
            targets.add(t.asText());
        } else {
            t.forEach(x -> targets.add(x.asText()));
        }
        if (!c.path("r").canConvertToInt() || !c.path("lora_alpha").isNumber() || !c.path("base_model_name_or_path")
                .isTextual()) {
            throw new IOException(file + ": needs r, lora_alpha and base_model_name_or_path");
        }
        return new Info(new LoraConfig(c.get("r").asInt(), c.get("lora_alpha").asDouble(), targets, dropout,
                c.path("use_rslora").asBoolean(false), c.path("use_dora").asBoolean(false)),
                c.get("base_model_name_or_path").asText(), "SEQ_CLS".equals(c.path("task_type").asText()));
    }

    /** PEFT's {@code PeftConfig} keys every method's config may hold. */
    private static final Set<String> COMMON_KEYS = Set.of("peft_type", "task_type", "base_model_name_or_path",
            "revision", "inference_mode", "auto_mapping", "peft_version");
    /** {@code IA3Config}'s own keys that align4j applies (or that do not change a loaded adapter). */
    private static final Set<String> IA3_KEYS = Set.of("target_modules", "feedforward_modules", "exclude_modules",
            "fan_in_fan_out", "modules_to_save", "init_ia3_weights");

    /**
     * An IA3 config: {@code target_modules} and {@code feedforward_modules} as lists of names (a
     * missing or null {@code feedforward_modules} is the family's default, as PEFT's); a key outside
     * PEFT's {@code IA3Config}, a regular expression (a string) for either list, or a non-empty
     * {@code exclude_modules} is refused by name. {@code fan_in_fan_out} follows the family (PEFT
     * corrects it for Conv1D and Linear alike) and {@code init_ia3_weights} concerns only fresh vectors.
     */
    private static Info readIa3(ObjectNode c, Path file) throws IOException {
        requireKnownKeys(c, file, "IA3", IA3_KEYS);
        JsonNode exclude = c.path("exclude_modules");
        if (!exclude.isMissingNode() && !exclude.isNull() && !(exclude.isContainerNode() && exclude.isEmpty())) {
            throw new IOException(file + ": exclude_modules is not supported (IA3 on target_modules only)");
        }
        List<String> targets = names(c, "target_modules", file);
        if (targets == null || targets.isEmpty()) {
            throw new IOException(file + ": target_modules must list the modules the adapter was trained on");
        }
        requireBase(c, file);
        return new Info(LoraConfig.ia3(targets, names(c, "feedforward_modules", file)),
                c.get("base_model_name_or_path").asText(), "SEQ_CLS".equals(c.path("task_type").asText()));
    }

    /** {@code PromptTuningConfig}'s keys (with {@code PromptLearningConfig}'s) that align4j reads or that do not change a loaded adapter. */
    private static final Set<String> PROMPT_TUNING_KEYS = Set.of("num_virtual_tokens", "token_dim",
            "num_transformer_submodules", "num_attention_heads", "num_layers", "modules_to_save", "prompt_tuning_init",
            "prompt_tuning_init_text", "tokenizer_name_or_path", "tokenizer_kwargs");

    /**
     * A prompt tuning config: {@code num_virtual_tokens}, one transformer submodule (a causal LM's),
     * {@code prompt_tuning_init} RANDOM or TEXT (with its text; SAMPLE_VOCAB's draw is PEFT's own and
     * is refused for fresh training, never needed to load); {@code token_dim}, {@code num_layers}
     * and {@code num_attention_heads} are checked against the base when the tensor loads. Any other
     * key is refused by name.
     */
    private static Info readPromptTuning(ObjectNode c, Path file) throws IOException {
        requireKnownKeys(c, file, "PROMPT_TUNING", PROMPT_TUNING_KEYS);
        requireVirtualTokens(c, file);
        String init = c.path("prompt_tuning_init").asText("RANDOM");
        if (!init.equals("RANDOM") && !init.equals("TEXT")) {
            throw new IOException(file + ": prompt_tuning_init '" + init + "' is not supported (RANDOM or TEXT)");
        }
        JsonNode text = c.path("prompt_tuning_init_text");
        requireBase(c, file);
        return new Info(LoraConfig.promptTuning(c.get("num_virtual_tokens").asInt(),
                init.equals("TEXT") && text.isTextual() ? text.asText() : null),
                c.get("base_model_name_or_path").asText(), "SEQ_CLS".equals(c.path("task_type").asText()));
    }

    /** {@code PrefixTuningConfig}'s keys (with {@code PromptLearningConfig}'s) that align4j reads or that do not change a loaded adapter. */
    private static final Set<String> PREFIX_TUNING_KEYS = Set.of("num_virtual_tokens", "token_dim",
            "num_transformer_submodules", "num_attention_heads", "num_layers", "modules_to_save",
            "encoder_hidden_size", "prefix_projection", "init_weights");

    /**
     * A prefix tuning config: {@code num_virtual_tokens} and one transformer submodule; the saved
     * {@code prompt_embeddings} is the table of keys and values {@code [n, layers * 2 * token_dim]}
     * in either case of {@code prefix_projection} (PEFT saves the projection's output, and loads it
     * as that table for inference), so a projected adapter loads as its table. The table's shape is
     * checked against the base when it loads. Any other key is refused by name.
     */
    private static Info readPrefixTuning(ObjectNode c, Path file) throws IOException {
        requireKnownKeys(c, file, "PREFIX_TUNING", PREFIX_TUNING_KEYS);
        requireVirtualTokens(c, file);
        requireBase(c, file);
        // a projection trained here left its encoder beside the table: it trains further as it was
        boolean encoder = c.path("prefix_projection").asBoolean(false)
                && Files.isRegularFile(file.resolveSibling(PREFIX_ENCODER));
        if (encoder && !c.path("encoder_hidden_size").canConvertToInt()) {
            throw new IOException(file + ": prefix_projection needs encoder_hidden_size");
        }
        return new Info(LoraConfig.prefixTuning(c.get("num_virtual_tokens").asInt(),
                encoder ? c.get("encoder_hidden_size").asInt() : 0),
                c.get("base_model_name_or_path").asText(), "SEQ_CLS".equals(c.path("task_type").asText()));
    }

    /** Refuses, by name, every key outside PEFT's common keys and {@code keys} (those of {@code type}'s config class). */
    private static void requireKnownKeys(ObjectNode c, Path file, String type, Set<String> keys) throws IOException {
        List<String> unknown = new ArrayList<>();
        c.fieldNames().forEachRemaining(k -> {
            if (!COMMON_KEYS.contains(k) && !keys.contains(k)) {
                unknown.add(k);
            }
        });
        if (!unknown.isEmpty()) {
            throw new IOException(file + ": " + String.join(", ", unknown) + (unknown.size() == 1 ? " is" : " are")
                    + " not supported for " + type + " (align4j reads " + new TreeSet<>(keys) + ")");
        }
    }

    /** PEFT's prompt-learning shape a causal LM can load: some virtual tokens, one transformer submodule. */
    private static void requireVirtualTokens(ObjectNode c, Path file) throws IOException {
        if (!c.path("num_virtual_tokens").canConvertToInt() || c.get("num_virtual_tokens").asInt() < 1) {
            throw new IOException(file + ": num_virtual_tokens must be a positive integer");
        }
        JsonNode sub = c.path("num_transformer_submodules");
        if (!sub.isMissingNode() && !sub.isNull() && sub.asInt() != 1) {
            throw new IOException(file + ": num_transformer_submodules " + sub.asInt() + " is not supported (a causal"
                    + " LM has 1)");
        }
    }

    private static void requireBase(ObjectNode c, Path file) throws IOException {
        if (!c.path("base_model_name_or_path").isTextual()) {
            throw new IOException(file + ": needs base_model_name_or_path");
        }
    }

    /** A list of module names, or null when the key is missing or null; a string (PEFT's regular expression) is refused. */
    private static List<String> names(ObjectNode c, String key, Path file) throws IOException {
        JsonNode v = c.path(key);
        if (v.isMissingNode() || v.isNull()) {
            return null;
        }
        if (!v.isArray()) {
            throw new IOException(file + ": " + key + " as a regular expression is not supported; list the module names");
        }
        List<String> out = new ArrayList<>();
        v.forEach(x -> out.add(x.asText()));
        return out;
    }

    /**
     * Where an adapter's base is: {@code base_model_name_or_path} as an absolute path, else relative
     * to the adapter directory; adapters written before align4j named it that way hold a path
     * relative to the working directory, which is tried next. Null when neither is a directory.
     */
    public static Path base(Path dir, Info info) {
        Path named = Path.of(info.baseModel());
        if (named.isAbsolute()) {
            return Files.isDirectory(named) ? named : null;
        }
        Path nearAdapter = dir.resolve(named).normalize();
        if (Files.isDirectory(nearAdapter)) {
            return nearAdapter;
        }
        return Files.isDirectory(named) ? named : null;
    }

    /** The quantization of the base the adapter was trained on (QLoRA), or null for an fp32 base. */
    public static QuantizedWeights.Kind quantization(Path dir) throws IOException {
        Path file = dir.resolve(ALIGN4J);
        if (!Files.isRegularFile(file)) {
            return null;
        }
        JsonNode q = Json.readObjectFile(file).path("quantize_base");
        if (q.isNull() || q.isMissingNode()) {
            return null;
        }
        for (QuantizedWeights.Kind k : QuantizedWeights.Kind.values()) {
            if (k.name().equalsIgnoreCase(q.asText())) {
                return k;
            }
        }
        throw new IOException(file + ": quantize_base '" + q.asText() + "' is none of "
                + List.of(QuantizedWeights.Kind.values()).toString().toLowerCase());
    }

    /**
     * Writes the adapter (and a scalar head) of {@code model} into {@code dir}, on the base
     * {@code baseModel} (named relative to {@code dir}) and with its quantization recorded.
     */
    public static void write(DecoderModel model, Path baseModel, Path dir) throws IOException {
        LoraConfig lora = model.lora();
        Files.createDirectories(dir);
        ObjectNode c = Json.MAPPER.createObjectNode();
        c.put("peft_type", lora.method().name());
        c.put("task_type", model.hasScoreHead() ? "SEQ_CLS" : "CAUSAL_LM");
        // a checkpoint is written into a sibling of its final place: the relative path is the same
        Path here = dir.toAbsolutePath().normalize();
        Path base = baseModel.toAbsolutePath().normalize();
        c.put("base_model_name_or_path", here.getRoot().equals(base.getRoot()) ? here.relativize(base).toString()
                : base.toString());
        if (lora.isPrefix()) {
            // PEFT's values after its grouped-query adjustment: token_dim and heads are the keys' and values'
            long table = model.prefixTable().shape()[1];
            int layers = model.config().layerCount();
            int kvDim = (int) (table / (2L * layers));
            int heads = model.config() instanceof GptConfig g ? g.nHead() : ((LlamaConfig) model.config()).numKvHeads();
            c.put("num_virtual_tokens", lora.virtualTokens());
            c.put("token_dim", kvDim);
            c.put("num_transformer_submodules", 1);
            c.put("num_attention_heads", heads);
            c.put("num_layers", layers);
            c.put("encoder_hidden_size", lora.projection() ? lora.encoderHiddenSize() : kvDim);
            c.put("prefix_projection", lora.projection());
            c.putNull("init_weights");
            c.put("inference_mode", true);
        } else if (lora.isVirtual()) {
            c.put("num_virtual_tokens", lora.virtualTokens());
            c.put("token_dim", model.config().hiddenSize());
            c.put("num_transformer_submodules", 1);
            c.put("num_attention_heads", model.config() instanceof GptConfig g ? g.nHead()
                    : ((LlamaConfig) model.config()).numHeads());
            c.put("num_layers", model.config().layerCount());
            c.put("prompt_tuning_init", lora.initText() == null ? "RANDOM" : "TEXT");
            if (lora.initText() == null) {
                c.putNull("prompt_tuning_init_text");
                c.putNull("tokenizer_name_or_path");
            } else {
                c.put("prompt_tuning_init_text", lora.initText());
                c.put("tokenizer_name_or_path", c.get("base_model_name_or_path").asText());
            }
            c.put("inference_mode", true);
        } else if (lora.isIa3()) {
            lora.targets().forEach(c.putArray("target_modules")::add);
            lora.feedforward().forEach(c.putArray("feedforward_modules")::add);
            c.put("fan_in_fan_out", model instanceof GptModel);
            c.put("inference_mode", true);
            c.put("init_ia3_weights", true);
        } else {
            c.put("r", lora.r());
            c.put("lora_alpha", lora.alpha());
            c.put("lora_dropout", lora.dropout());
            lora.targets().forEach(c.putArray("target_modules")::add);
            c.put("fan_in_fan_out", model instanceof GptModel);
            c.put("bias", "none");
            c.put("inference_mode", true);
            c.put("init_lora_weights", true);
            c.put("use_rslora", lora.rslora());
            c.put("use_dora", lora.dora());
        }
        if (model.hasScoreHead()) {
            c.putArray("modules_to_save").add("score");
        } else {
            c.putNull("modules_to_save");
        }
        Map<String, INDArray> tensors = new LinkedHashMap<>();
        ParameterSet p = model.parameters();
        Map<String, INDArray> encoder = new LinkedHashMap<>();
        if (lora.isPrefix() && lora.projection()) {
            // PEFT saves the projected table; the encoder that makes it goes in align4j's own file
            tensors.put(PROMPT, model.prefixTable());
        }
        for (String name : p.names()) {
            if (name.startsWith(ENCODER_PREFIX)) {
                encoder.put(name, p.get(name));
            } else if (name.equals(PROMPT)) {
                tensors.put(PROMPT, p.get(name));
            } else if (LoraConfig.isAdapterTensor(name)) {
                tensors.put(prefix(model) + name, p.get(name));
            } else if (name.equals(DecoderModel.SCORE_HEAD)) {
                tensors.put(HEAD, p.get(name));
            }
        }
        Safetensors.write(dir.resolve(WEIGHTS), tensors, Map.of("format", "pt"));
        if (encoder.isEmpty()) {
            Files.deleteIfExists(dir.resolve(PREFIX_ENCODER));
        } else {
            Safetensors.write(dir.resolve(PREFIX_ENCODER), encoder, Map.of("format", "pt"));
        }
        QuantizedWeights q = model.quantized();
        if (q != null) {
            ObjectNode own = Json.MAPPER.createObjectNode().put("quantize_base", q.kind().name().toLowerCase());
            AtomicFiles.writeString(dir.resolve(ALIGN4J), Json.MAPPER.writerWithDefaultPrettyPrinter()
                    .writeValueAsString(own) + "\n");
        } else {
            Files.deleteIfExists(dir.resolve(ALIGN4J));
        }
        AtomicFiles.writeString(dir.resolve(CONFIG), Json.MAPPER.writerWithDefaultPrettyPrinter()
                .writeValueAsString(c) + "\n");
    }

    /** PEFT's prefix of the base model's tensor names: GPT-2's sit under {@code transformer.}. */
    private static String prefix(DecoderModel model) {
        return model instanceof GptModel ? PREFIX + "transformer." : PREFIX;
    }

    /**
     * align4j's name of a stored adapter tensor: without PEFT's adapter name ({@code .default}), and
     * DoRA's magnitude as PEFT saves it ({@code ...lora_magnitude_vector}) whatever form a file holds
     * ({@code ...lora_magnitude_vector.default.weight} from an unfiltered state dict).
     */
    private static String ownName(String stored) {
        String name = stored.replace(".default.", ".");
        if (name.endsWith(".lora_magnitude_vector.default")) {
            name = name.substring(0, name.length() - ".default".length());
        }
        if (name.endsWith(".ia3_l.default")) {
            name = name.substring(0, name.length() - ".default".length());
        }
        if (name.endsWith(".lora_magnitude_vector.weight")) {
            name = name.substring(0, name.length() - ".weight".length());
        }
        return name;
    }

    /** Reads the adapter's tensors into a model built with its LoRA settings; names and shapes must match. */
    public static void loadInto(Path dir, DecoderModel model) throws IOException {
        ParameterSet params = model.parameters();
        String prefix = prefix(model);
        Path file = dir.resolve(WEIGHTS);
        List<String> loaded = new ArrayList<>();
        try (Safetensors.Reader r = Safetensors.open(file)) {
            for (String stored : r.tensors().keySet()) {
                String name = stored.equals(HEAD) ? DecoderModel.SCORE_HEAD : stored.equals(PROMPT) ? PROMPT
                        : stored.startsWith(prefix) ? ownName(stored.substring(prefix.length())) : null;
                if (DecoderModel.SCORE_HEAD.equals(name) && !params.has(name)) {
                    continue; // a reward model's adapter loaded as a language model
                }
                if (PROMPT.equals(name) && !params.has(name) && model.prefixTable() != null) {
                    continue; // the table the encoder makes (read from align4j's file below)
                }
                if (name == null || !params.has(name)) {
                    throw new IOException(file + ": unexpected tensor '" + stored + "' for these adapter settings");
                }
                r.readInto(stored, params.get(name));
                loaded.add(name);
            }
        }
        if (params.names().stream().anyMatch(n -> n.startsWith(ENCODER_PREFIX))) {
            try (Safetensors.Reader r = Safetensors.open(dir.resolve(PREFIX_ENCODER))) {
                for (String name : params.names()) {
                    if (name.startsWith(ENCODER_PREFIX)) {
                        r.readInto(name, params.get(name));
                        loaded.add(name);
                    }
                }
            }
        }
        for (String name : params.names()) {
            if (LoraConfig.isAdapterTensor(name) && !loaded.contains(name)) {
                throw new IOException(file + ": missing tensor '" + prefix + name + "'");
            }
        }
    }
}
