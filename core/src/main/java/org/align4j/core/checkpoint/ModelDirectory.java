package org.align4j.core.checkpoint;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.kernels.Kernels;
import org.align4j.core.model.Architecture;
import org.align4j.core.model.DecoderConfig;
import org.align4j.core.model.GptConfig;
import org.align4j.core.model.GptModel;
import org.align4j.core.model.LlamaModel;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.model.LoraConfig;
import org.align4j.core.tokenizer.TokenizerFiles;
import org.align4j.core.model.ParameterSet;
import org.align4j.core.model.QuantizedWeights;
import org.align4j.core.model.Trainable;
import org.align4j.core.util.AtomicFiles;
import org.align4j.core.util.Json;
import org.align4j.core.util.UserInputException;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A model directory in Hugging Face's GPT-2 layout: {@code config.json}, {@code model.safetensors}
 * (or shards listed in {@code model.safetensors.index.json}) with GPT-2's tensor names, and the
 * tokenizer files. Loading accepts what real checkpoints contain: a {@code transformer.}
 * prefix, an explicit {@code lm_head.weight} (the head is tied, so it is not read), and the
 * attention-mask buffers {@code h.N.attn.bias} / {@code masked_bias}.
 *
 * <p>Reward and value models are Hugging Face's {@code GPT2ForSequenceClassification} with one
 * label: the backbone under {@code transformer.}, the head {@code score.weight [1, n_embd]}, and
 * {@code architectures}, {@code num_labels} and {@code pad_token_id} in {@code config.json}, so
 * the directory loads in {@code transformers}.
 */
public final class ModelDirectory {

    public static final String CONFIG = "config.json";
    public static final String WEIGHTS = "model.safetensors";
    public static final String WEIGHTS_INDEX = "model.safetensors.index.json";
    /** Tokenizer files copied along with a model. */
    public static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "vocab.json", "merges.txt",
            "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja", "chat_template.json");

    private static final Pattern IGNORED = Pattern.compile("h\\.\\d+\\.attn\\.(bias|masked_bias)|lm_head\\.weight");

    private ModelDirectory() {
    }

    public static DecoderModel load(Path dir, Kernels kernels, DataType type) throws IOException {
        return load(dir, kernels, type, false);
    }

    /**
     * Loads a model; with {@code scoreHead} the layout holds {@code score.weight}, read when the
     * directory has one (a reward model) and zero otherwise (an SFT or base model: every sequence
     * then starts at score 0). Without it the directory must be a causal LM: a reward model is
     * refused ({@link ModelKind}), since its head would be dropped silently.
     */
    public static DecoderModel load(Path dir, Kernels kernels, DataType type, boolean scoreHead) throws IOException {
        return load(dir, kernels, type, Setup.plain(scoreHead));
    }

    /**
     * How a model is set up for training: which tensors train, fresh LoRA adapters to add (drawn
     * from {@code seed}), and a base stored quantized (QLoRA). {@link #plain} is none of these.
     */
    public record Setup(boolean scoreHead, Function<DecoderConfig, Trainable> trainable, LoraConfig lora, long seed,
                        QuantizedWeights.Kind quantize) {
        public static Setup plain(boolean scoreHead) {
            return new Setup(scoreHead, c -> Trainable.ALL, null, 0, null);
        }
    }

    /**
     * Loads a model directory or a LoRA adapter directory (PEFT's format, whose config names its
     * base: the base is loaded and the adapter put on it). With {@code setup.lora()}, fresh
     * adapters go on a plain model; an adapter directory trains further as it is.
     */
    public static DecoderModel load(Path dir, Kernels kernels, DataType type, Setup setup) throws IOException {
        return load(dir, null, kernels, type, setup);
    }

    /**
     * The one place that turns (model, adapter, quantization) into a model. {@code adapter} (may be
     * null) is put on {@code model} as its base; without it {@code model} may itself be an adapter
     * directory, which names its base. A stored adapter without {@code setup.lora()} is loaded to
     * train further (or to run); with it, the adapter's model becomes the base of fresh adapters:
     * merged into the base weights in memory, so that switching the fresh adapters off (the
     * reference of DPO and PPO) gives the adapter's model exactly, as the run started from it, and
     * the new adapter names the old one as its base.
     */
    public static DecoderModel load(Path model, Path adapter, Kernels kernels, DataType type, Setup setup)
            throws IOException {
        if (!setup.scoreHead()) {
            ModelKind.requireCausalLm(model);
            if (adapter != null) {
                ModelKind.requireCausalLm(adapter);
            }
        }
        Path adapterDir = adapter != null ? adapter : PeftAdapter.isAdapter(model) ? model : null;
        if (adapterDir == null) {
            DecoderModel m = loadPlain(model, kernels, type, setup.scoreHead(), setup.trainable(), setup.lora(),
                    setup.quantize());
            return withFreshAdapters(m, model, setup);
        }
        if (setup.lora() == null) {
            return loadAdapter(adapterDir, adapter != null ? model : null, kernels, type, setup.scoreHead(),
                    setup.quantize());
        }
        DecoderModel base = mergedAdapter(adapterDir, adapter != null ? model : null, kernels, type,
                setup.scoreHead());
        DecoderModel m = base.asBaseOf(setup.scoreHead(), setup.trainable().apply(base.config()), setup.lora(),
                setup.quantize());
        return withFreshAdapters(m, adapterDir, setup);
    }

    private static DecoderModel withFreshAdapters(DecoderModel m, Path base, Setup setup) throws IOException {
        if (setup.lora() != null) {
            m.initializeAdapters(setup.seed(), initTextIds(base, setup.lora()));
            m.setAdapterBase(base);
        }
        return m;
    }

    /** Prompt tuning's init text as the base's tokenizer encodes it (PEFT's TEXT init), or null. */
    private static int[] initTextIds(Path base, LoraConfig lora) throws IOException {
        if (!lora.isVirtual() || lora.initText() == null) {
            return null;
        }
        if (!TokenizerFiles.exists(base)) {
            throw new UserInputException("--prompt-tuning-init-text needs a tokenizer in " + base);
        }
        return TokenizerFiles.load(base).encode(lora.initText());
    }

    /** An adapter's model as one plain fp32 model (its adapters merged into its base's weights). */
    private static DecoderModel mergedAdapter(Path dir, Path base, Kernels kernels, DataType type, boolean scoreHead)
            throws IOException {
        DecoderModel adapted = loadAdapter(dir, base, kernels, type, scoreHead);
        if (adapted.quantized() != null) {
            throw new UserInputException(dir + " was trained on a quantized base, which cannot take new adapters"
                    + " merged under them: train it further without --lora-r");
        }
        return adapted.merged();
    }

    /**
     * A PEFT adapter directory on its base: {@code base}, or when null the directory its
     * {@code adapter_config.json} names (relative to the adapter directory, or as adapters written
     * before that named it, to the working directory). The base is quantized as the adapter
     * records it was trained on.
     */
    public static DecoderModel loadAdapter(Path dir, Path base, Kernels kernels, DataType type, boolean scoreHead)
            throws IOException {
        return loadAdapter(dir, base, kernels, type, scoreHead, null);
    }

    /** As {@link #loadAdapter(Path, Path, Kernels, DataType, boolean)}, the base quantized with {@code quantize} when given. */
    public static DecoderModel loadAdapter(Path dir, Path base, Kernels kernels, DataType type, boolean scoreHead,
                                       QuantizedWeights.Kind quantize) throws IOException {
        if (!PeftAdapter.isAdapter(dir)) {
            throw new UserInputException(dir + ": not a LoRA adapter directory (no " + PeftAdapter.CONFIG + ")");
        }
        PeftAdapter.Info info = PeftAdapter.read(dir);
        Path b = base != null ? base : PeftAdapter.base(dir, info);
        if (b == null || !Files.isDirectory(b)) {
            throw new UserInputException(base != null ? base + ": not a model directory"
                    : dir.resolve(PeftAdapter.CONFIG) + ": base_model_name_or_path '" + info.baseModel() + "' is not a"
                    + " model directory relative to the adapter (" + dir.resolve(info.baseModel()).normalize()
                    + ") or to the working directory; give the base as --model BASE --adapter " + dir);
        }
        QuantizedWeights.Kind q = quantize != null ? quantize : PeftAdapter.quantization(dir);
        DecoderModel m;
        try {
            if (PeftAdapter.isAdapter(b)) {
                // an adapter trained on top of another one: that one's model, merged, is its base
                m = mergedAdapter(b, null, kernels, type, scoreHead).asBaseOf(scoreHead, Trainable.ADAPTERS,
                        info.lora(), q);
            } else {
                m = loadPlain(b, kernels, type, scoreHead, c -> Trainable.ADAPTERS, info.lora(), q);
            }
        } catch (LoraConfig.UnknownTargetException e) {
            // not a --lora-targets mistake: the adapter comes from another family's model
            throw new UserInputException(dir + ": the adapter was trained on another model family or base (its config"
                    + " names '" + info.baseModel() + "'): its target_modules " + info.lora().targets()
                    + " are not modules of the base " + b + ", a " + e.family() + " model");
        }
        PeftAdapter.loadInto(dir, m);
        m.setAdapterBase(b);
        return m;
    }

    private static DecoderModel loadPlain(Path dir, Kernels kernels, DataType type, boolean scoreHead,
                                      Function<DecoderConfig, Trainable> trainable, LoraConfig lora,
                                      QuantizedWeights.Kind quantize) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException(dir + ": not a model directory (expected config.json and model.safetensors)");
        }
        Path configFile = dir.resolve(CONFIG);
        if (!Files.isRegularFile(configFile)) {
            throw new IOException(configFile + ": missing; a model directory needs config.json");
        }
        if (Architecture.of(Json.readObjectFile(configFile), configFile.toString()) != Architecture.GPT2) {
            return LlamaDirectory.load(dir, kernels, type, scoreHead, trainable,
                    lora, quantize);
        }
        GptConfig config = GptConfig.read(configFile);
        // everything is checked against the files' headers before a byte is allocated: a config that
        // disagrees with its weights, or a model larger than memory, is an error and not a crash
        checkShapes(dir, config);
        checkMemory(dir, GptModel.layout(config), type);
        GptModel model = new GptModel(config, kernels, type, scoreHead, trainable.apply(config),
                lora, quantize);
        loadWeights(dir, model);
        return model;
    }

    static List<Path> weightFiles(Path dir) throws IOException {
        Path single = dir.resolve(WEIGHTS);
        if (Files.isRegularFile(single)) {
            return List.of(single);
        }
        Path index = dir.resolve(WEIGHTS_INDEX);
        if (Files.isRegularFile(index)) {
            JsonNode map = Json.MAPPER.readTree(index.toFile()).path("weight_map");
            if (!map.isObject()) {
                throw new IOException(index + ": field 'weight_map' missing or not an object");
            }
            TreeSet<String> files = new TreeSet<>();
            map.fields().forEachRemaining(e -> files.add(e.getValue().asText()));
            List<Path> shards = new ArrayList<>();
            for (String f : files) {
                shards.add(dir.resolve(f));
            }
            return shards;
        }
        if (Files.exists(dir.resolve("pytorch_model.bin"))) {
            throw new IOException(dir + ": has only pytorch_model.bin; align4j reads safetensors. Convert it with"
                    + " Hugging Face's safetensors tooling (save_pretrained(..., safe_serialization=True)).");
        }
        throw new IOException(dir + ": no " + WEIGHTS + " or " + WEIGHTS_INDEX);
    }

    /** The stored shape of every tensor that the config's layout names must equal the layout's. */
    private static void checkShapes(Path dir, GptConfig config) throws IOException {
        Map<String, long[]> expected = new LinkedHashMap<>();
        for (ParameterSet.Spec s : GptModel.layout(config)) {
            expected.put(s.name(), s.shape());
        }
        List<String> wrong = new ArrayList<>();
        for (Path file : weightFiles(dir)) {
            try (Safetensors.Reader r = Safetensors.open(file)) {
                for (Safetensors.TensorInfo t : r.tensors().values()) {
                    String name = t.name().startsWith("transformer.") ? t.name().substring("transformer.".length())
                            : t.name();
                    long[] want = expected.get(name);
                    if (want != null && !java.util.Arrays.equals(want, t.shape())) {
                        wrong.add(name + " is " + java.util.Arrays.toString(t.shape()) + ", config.json implies "
                                + java.util.Arrays.toString(want));
                    }
                }
            }
        }
        if (!wrong.isEmpty()) {
            throw new IOException(dir + ": weights do not match config.json: " + summarize(wrong));
        }
    }

    /** Refuses a model whose parameters alone exceed the off-heap memory align4j may use. */
    static void checkMemory(Path dir, List<ParameterSet.Spec> layout, DataType type) throws IOException {
        long elements = 0;
        for (ParameterSet.Spec s : layout) {
            elements += s.size();
        }
        long bytes = elements * type.width();
        long limit = org.bytedeco.javacpp.Pointer.maxBytes();
        if (limit > 0 && bytes > limit) {
            throw new IOException(String.format("%s: the model's %,d parameters need %.1f GB, more than the %.1f GB"
                    + " align4j may use (raise it with ALIGN4J_JAVA_OPTS=-Dorg.bytedeco.javacpp.maxbytes=...)", dir,
                    elements, bytes / 1e9, limit / 1e9));
        }
    }

    /** Whether the directory's weights hold a scalar head ({@code score.weight}). */
    public static boolean hasScoreHead(Path dir) throws IOException {
        if (PeftAdapter.isAdapter(dir)) {
            return PeftAdapter.read(dir).scoreHead();
        }
        for (Path file : weightFiles(dir)) {
            try (Safetensors.Reader r = Safetensors.open(file)) {
                if (r.tensors().containsKey(DecoderModel.SCORE_HEAD)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static void loadWeights(Path dir, DecoderModel model) throws IOException {
        ParameterSet params = model.parameters();
        QuantizedWeights quantized = model.quantized();
        Map<String, String> found = new LinkedHashMap<>();
        List<String> unexpected = new ArrayList<>();
        for (Path file : weightFiles(dir)) {
            try (Safetensors.Reader r = Safetensors.open(file)) {
                for (String stored : r.tensors().keySet()) {
                    String name = stored.startsWith("transformer.") ? stored.substring("transformer.".length()) : stored;
                    if (IGNORED.matcher(name).matches()
                            || (name.equals(DecoderModel.SCORE_HEAD) && !params.has(DecoderModel.SCORE_HEAD))) {
                        continue;
                    }
                    if (model.keepsQuantized(name)) {
                        // one tensor in fp32 at a time: the whole base never is
                        quantized.put(name, r.tensors().get(stored).shape(), r.readFloats(stored));
                        found.put(name, file.getFileName().toString());
                        continue;
                    }
                    if (!params.has(name)) {
                        unexpected.add(stored);
                        continue;
                    }
                    INDArray target = params.get(name);
                    r.readInto(stored, target);
                    found.put(name, file.getFileName().toString());
                }
            }
        }
        List<String> missing = new ArrayList<>();
        for (String name : params.names()) {
            if (!found.containsKey(name) && !name.equals(DecoderModel.SCORE_HEAD) && !LoraConfig.isAdapterTensor(name)) {
                missing.add(name);
            }
        }
        missing.addAll(model.missingQuantized());
        if (!unexpected.isEmpty() || !missing.isEmpty()) {
            throw new IOException(dir + ": weights do not match config.json"
                    + (missing.isEmpty() ? "" : "; missing tensors: " + summarize(missing))
                    + (unexpected.isEmpty() ? "" : "; unexpected tensors: " + summarize(unexpected)));
        }
    }

    private static String summarize(List<String> names) {
        return names.size() <= 8 ? String.join(", ", names)
                : String.join(", ", names.subList(0, 8)) + " and " + (names.size() - 8) + " more";
    }

    /**
     * Writes {@code config.json} and {@code model.safetensors} (F32, GPT-2 names), each atomically;
     * a model with a scalar head in the {@code GPT2ForSequenceClassification} layout; a model with
     * LoRA adapters as a PEFT adapter directory on its base ({@link PeftAdapter}).
     */
    public static void save(DecoderModel model, Path dir) throws IOException {
        if (model.lora() != null) {
            PeftAdapter.write(model, model.adapterBase(), dir);
            return;
        }
        if (model instanceof LlamaModel llama) {
            // F32: a checkpoint resumes exactly; shards of HF's default 5 GB
            LlamaDirectory.save(llama, dir, "F32", 5_000_000_000L);
            return;
        }
        Files.createDirectories(dir);
        Map<String, INDArray> tensors = new LinkedHashMap<>();
        ParameterSet p = model.parameters();
        String prefix = model.hasScoreHead() ? "transformer." : "";
        for (String name : p.names()) {
            tensors.put(name.equals(DecoderModel.SCORE_HEAD) ? name : prefix + name, p.get(name));
        }
        Safetensors.write(dir.resolve(WEIGHTS), tensors, Map.of("format", "pt"));
        ObjectNode config = model.config().toJson();
        if (model.hasScoreHead()) {
            markSequenceClassification(config, "GPT2ForSequenceClassification", model.config().eosTokenId());
        }
        AtomicFiles.writeString(dir.resolve(CONFIG), Json.MAPPER.writerWithDefaultPrettyPrinter()
                .writeValueAsString(config) + "\n");
    }

    /**
     * Marks a config as one-label sequence classification, so the directory loads in
     * {@code transformers}. The pad id is the end of sequence: HF reads the score before the first
     * pad, and align4j's scored sequences never contain it (user text cannot produce a special token).
     */
    static void markSequenceClassification(ObjectNode config, String architecture, int eos) {
        config.putArray("architectures").add(architecture);
        config.put("num_labels", 1);
        config.putObject("id2label").put("0", "LABEL_0");
        config.putObject("label2id").put("LABEL_0", 0);
        config.put("pad_token_id", eos);
    }

    /** Copies the tokenizer files that exist in {@code from} into {@code to}. */
    public static void copyTokenizerFiles(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        for (String f : TOKENIZER_FILES) {
            Path src = from.resolve(f);
            if (Files.isRegularFile(src)) {
                byte[] bytes = Files.readAllBytes(src);
                AtomicFiles.write(to.resolve(f), out -> out.write(bytes));
            }
        }
    }
}
