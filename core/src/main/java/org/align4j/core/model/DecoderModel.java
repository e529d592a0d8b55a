package org.align4j.core.model;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Predicate;

import org.align4j.core.kernels.Kernels;
import org.align4j.core.tokenizer.BpeTokenizer;
import org.align4j.core.util.UserInputException;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * What every decoder family shares, so that the stages see one model: the flat parameter buffer
 * with its trainable prefix, gradients of the trainable tensors, the optional scalar head, the
 * vocabulary limit, and the two entry points of the forward and backward. A family
 * ({@link DecoderModel}, {@link LlamaModel}) supplies its blocks.
 *
 * <p>Two entry points share one backward path: {@link #forward}/{@link #backward} for logits
 * (SFT, PPO, DPO) and {@link #forwardHidden}/{@link #backwardHidden} for the final hidden
 * states that scalar heads (reward, value) read. A backward call must follow the forward of
 * the same batch; gradients accumulate until {@link #zeroGradients()}.
 */
public abstract class DecoderModel {

    /** The scalar head's tensor name in Hugging Face's sequence-classification models. */
    public static final String SCORE_HEAD = "score.weight";

    protected final Kernels kernels;
    protected final ParameterSet params;
    protected final Trainable trainable;
    protected final ParameterSet trainableParams;
    protected final boolean scoreHead;
    /** How the family names and stores its block projections (adapters, quantized base, merge). */
    private final BlockLayout blocks;
    protected ParameterSet grads;
    /** LoRA adapters, or null; attached by the family once the buffer exists. */
    protected LoraAdapters lora;
    /** IA3's vectors, or null (a model has one adapter method at most). */
    private Ia3Adapters ia3;
    /** Prompt tuning's virtual tokens, or null. */
    private VirtualTokens virtual;
    private Path adapterBase;
    private QuantizedWeights quantizedBase;
    private Predicate<String> quantizable = name -> false;
    /** Host buffers by matrix size (kernels upload exactly a matrix's length). */
    private Map<Long, float[]> dequantHost;
    private INDArray dequantStore;
    /** The batch of the last training forward, which a backward continues. */
    protected TokenBatch current;
    private final int vocabSize;
    private int usableVocab;
    private boolean gradientCheckpointing;

    /**
     * {@code specs}: the family's layout (with a scalar head and adapters where it has them). The
     * tensors that {@code trainable} accepts come first in the flat buffer, so the optimizer
     * updates one contiguous prefix ({@link #trainableParameters()}); tensors are found by name,
     * so the order never shows outside the model.
     */
    protected DecoderModel(DecoderConfig config, Kernels kernels, DataType type, List<ParameterSet.Spec> specs,
                           boolean scoreHead, Trainable trainable, BlockLayout blocks) {
        this.kernels = kernels;
        this.blocks = blocks;
        this.scoreHead = scoreHead;
        this.trainable = trainable;
        this.vocabSize = config.vocabSize();
        this.usableVocab = vocabSize;
        List<ParameterSet.Spec> ordered = new ArrayList<>(specs.stream().filter(sp -> trainable.test(sp.name()))
                .toList());
        int trainableCount = ordered.size();
        if (trainableCount == 0) {
            throw new UserInputException("no parameter is left to train (" + trainable + ")");
        }
        specs.stream().filter(sp -> !trainable.test(sp.name())).forEach(ordered::add);
        this.params = new ParameterSet(ordered, type);
        this.trainableParams = params.prefix(trainableCount);
    }

    /** The scalar head {@code [1, hidden]} appended to a layout when a model has one. */
    protected static ParameterSet.Spec scoreHeadSpec(DecoderConfig c) {
        return new ParameterSet.Spec(SCORE_HEAD, new long[] {1, c.hiddenSize()}, true);
    }

    public abstract DecoderConfig config();

    /** The family's name for messages and bench output ("gpt2", "llama", "qwen2"). */
    public abstract String family();

    /** Logits {@code [B*T, V]}; the array may be reused by the next forward. */
    public abstract INDArray forward(TokenBatch batch);

    /** Final hidden states {@code [B*T, C]} after the last norm; may be reused by the next forward. */
    public abstract INDArray forwardHidden(TokenBatch batch);

    /** Backward from {@code dlogits [B*T, V]} (may be the logits array itself, overwritten by a loss). */
    public abstract void backward(INDArray dlogits);

    /** Backward from {@code dL/dhidden [B*T, C]} for the output of {@link #forwardHidden}. */
    public void backwardHidden(INDArray dhidden) {
        requireForward();
        gradients();
        backwardFromNorm(allRows(dhidden));
    }

    /** The family's backward from the gradient of the final norm's output, into {@link #gradients()}. */
    protected abstract void backwardFromNorm(INDArray dnormed);

    protected void requireForward() {
        if (current == null) {
            throw new IllegalStateException("backward called before forward");
        }
    }

    /**
     * Starts a KV cache for {@code batch} sequences of up to {@code capacity} tokens. With prompt
     * tuning the cache already holds the virtual tokens (its {@link KvCache#length()} counts them),
     * and every cached step's positions are taken after them.
     */
    public KvCache newCache(int batch, int capacity) {
        int n = virtualTokenCount();
        KvCache cache = emptyCache(batch, capacity + n);
        if (n > 0 && virtual.prefix()) {
            // prefix tuning: the keys and values are the adapter's, in every layer's first n slots
            virtual.prefill(cache);
            float[] ones = new float[batch * n];
            Arrays.fill(ones, 1f);
            cache.setMasks(ones, n);
            cache.advance(n);
        } else if (n > 0) {
            int[] tokens = new int[batch * n];
            int[] positions = new int[batch * n];
            float[] ones = new float[batch * n];
            for (int i = 0; i < positions.length; i++) {
                positions[i] = i % n;
                ones[i] = 1;
            }
            cache.setMasks(ones, n);
            virtual.setPrefilling(true);
            try {
                forwardCached(cache, tokens, positions, n);
            } finally {
                virtual.setPrefilling(false);
            }
        }
        return cache;
    }

    /** An empty KV cache of the family for {@code batch} sequences of {@code capacity} slots. */
    protected abstract KvCache emptyCache(int batch, int capacity);

    /** Prefix tuning's table of keys and values {@code [n, layers * 2 * d]} (computed by the encoder with a projection), or null. */
    public INDArray prefixTable() {
        return virtual != null && virtual.prefix() ? virtual.table() : null;
    }

    /** The virtual tokens before every sequence now (prompt tuning, adapter on), else 0: the context left is the rest. */
    public int virtualTokenCount() {
        return virtual == null ? 0 : virtual.count();
    }

    /**
     * Runs {@code steps} new tokens per sequence through the model against the cache and returns
     * the logits {@code [B, V]} of each sequence's last new token. {@code tokens} and
     * {@code positions} are {@code [B*steps]}; the cache's key mask must already mark the new
     * slots {@code cache.length() .. +steps}.
     */
    public abstract INDArray forwardCached(KvCache cache, int[] tokens, int[] positions, int steps);

    /** Whether the layout holds a scalar head ({@value #SCORE_HEAD}). */
    public boolean hasScoreHead() {
        return scoreHead;
    }

    public Kernels kernels() {
        return kernels;
    }

    public DataType dataType() {
        return params.flat().dataType();
    }

    public ParameterSet parameters() {
        return params;
    }

    /** The tensors that train: all of {@link #parameters()}, or its prefix when some are frozen. */
    public ParameterSet trainableParameters() {
        return trainableParams;
    }

    public Trainable trainable() {
        return trainable;
    }

    public long parameterCount() {
        return params.size();
    }

    public long trainableParameterCount() {
        return trainableParams.size();
    }

    /** Gradients of the trainable tensors, in {@link #trainableParameters()}'s layout; allocated on first use. */
    public ParameterSet gradients() {
        if (grads == null) {
            grads = trainableParams.zerosLike();
            bindGradients(grads);
            if (lora != null) {
                lora.bindGradients(grads);
            }
            if (ia3 != null) {
                ia3.bindGradients(grads);
            }
            if (virtual != null) {
                virtual.bindGradients(grads);
            }
        }
        return grads;
    }

    /** Lets a family keep views into its freshly allocated gradient buffer. */
    protected void bindGradients(ParameterSet gradients) {
    }

    public void zeroGradients() {
        gradients().flat().assign(0);
    }

    // ---------------------------------------------------------------- activation recomputation

    /**
     * Activation recomputation ("gradient checkpointing"): a training forward keeps only each
     * block's input, and the backward runs each block's forward again just before its backward.
     * The gradients are the same bit for bit (the same kernels on the same inputs, LoRA dropout's
     * masks replayed); activation memory falls from every block's to one block's plus the blocks'
     * inputs, for about a third more compute. Set it before the forward whose backward follows.
     */
    public void setGradientCheckpointing(boolean on) {
        if (on != gradientCheckpointing) {
            gradientCheckpointing = on;
            checkpointingChanged(on);
        }
    }

    public boolean gradientCheckpointing() {
        return gradientCheckpointing;
    }

    /** The family switches its activation buffers between one set per block and one shared set. */
    protected abstract void checkpointingChanged(boolean on);

    /** While on, adapters running a block's forward again reuse the first run's dropout masks and DoRA scales. */
    protected void replayAdapters(boolean on) {
        if (lora != null) {
            lora.setReplay(on);
        }
    }

    // ---------------------------------------------------------------- adapters (LoRA)

    /** The adapters' settings (LoRA's or IA3's, {@link LoraConfig#method()}), or null without adapters. */
    public LoraConfig lora() {
        return lora != null ? lora.config() : ia3 != null ? ia3.config() : virtual != null ? virtual.config() : null;
    }

    /** Fresh adapters from {@code seed} (LoRA and IA3: the model equals its base), for a loaded base. */
    public DecoderModel initializeAdapters(long seed) {
        return initializeAdapters(seed, null);
    }

    /** As {@link #initializeAdapters(long)}; prompt tuning's embeddings from the tokens {@code initIds} of its init text when given. */
    public DecoderModel initializeAdapters(long seed, int[] initIds) {
        if (lora == null && ia3 == null && virtual == null) {
            throw new IllegalStateException("the model has no adapters");
        }
        SplittableRandom rng = new SplittableRandom(seed);
        initializeAdapterTensors(rng);
        if (virtual != null && initIds != null) {
            virtual.initialize(rng, wordEmbeddings(), initIds);
        }
        return this;
    }

    /** LoRA's A random and B zero, IA3's vectors ones, prompt tuning's embeddings N(0, 1) as PEFT's RANDOM. */
    protected void initializeAdapterTensors(SplittableRandom rng) {
        if (lora != null) {
            lora.initialize(rng);
        }
        if (ia3 != null) {
            ia3.initialize();
        }
        if (virtual != null) {
            virtual.initialize(rng, null, null);
        }
    }

    /** The token embedding {@code [V, C]} (GPT-2's {@code wte}, the Llama family's {@code embed_tokens}). */
    private INDArray wordEmbeddings() {
        return params.has("wte.weight") ? params.get("wte.weight") : params.get("model.embed_tokens.weight");
    }

    /** Switches the adapters off (the model is then its base exactly: a reference at no cost) or on. */
    public void setAdaptersEnabled(boolean on) {
        if (lora != null) {
            lora.setEnabled(on);
        }
        if (ia3 != null) {
            ia3.setEnabled(on);
        }
        if (virtual != null) {
            virtual.setEnabled(on);
        }
    }

    /**
     * LoRA dropout ({@code lora_dropout}): from a training step's seed (drawn from the run's seed and
     * the step, so a resumed run drops the same inputs) the forwards that keep activations drop the
     * adapters' inputs until it is set back to null. No effect without dropout or adapters.
     */
    public void setAdapterDropoutSeed(Long seed) {
        if (lora != null) {
            lora.setDropoutSeed(seed);
        }
    }

    /**
     * Pauses (true) or resumes a training step's LoRA dropout, for the part of a step that reads
     * the model as it is (PPO's rollout, old log-probabilities and values) rather than training it.
     */
    public void pauseAdapterDropout(boolean paused) {
        if (lora != null) {
            lora.pauseDropout(paused);
        }
    }

    public boolean adaptersEnabled() {
        return lora != null ? lora.enabled() : ia3 != null ? ia3.enabled() : virtual != null && virtual.enabled();
    }

    /**
     * The directory an adapter sits on, absolute: a model directory, or an adapter merged into a
     * base (new adapters on a loaded one). A saved adapter names it relative to itself.
     */
    public Path adapterBase() {
        return adapterBase;
    }

    public void setAdapterBase(Path base) {
        this.adapterBase = base.toAbsolutePath().normalize();
    }

    /** The quantized base weights, or null when the base is fp32. */
    public QuantizedWeights quantized() {
        return quantizedBase;
    }

    /** Whether the stored tensor {@code name} is kept quantized, outside the parameter buffer. */
    public boolean keepsQuantized(String name) {
        return quantizedBase != null && quantizable.test(name);
    }

    /**
     * QLoRA: the block matrices that {@code quantizable} names are kept as {@code kind} outside the
     * parameter buffer (the family left them out of its layout) and dequantized, one matrix at a
     * time into one shared scratch, where a layer uses them ({@link #weight}).
     */
    protected void keepQuantized(QuantizedWeights.Kind kind, Predicate<String> quantizable) {
        this.quantizedBase = new QuantizedWeights(kind);
        this.quantizable = quantizable;
        long largest = 0;
        for (LoraConfig.Module m : blocks.modules()) {
            largest = Math.max(largest, m.in() * m.out());
        }
        this.dequantHost = new HashMap<>();
        this.dequantStore = Nd4j.zeros(dataType(), largest);
    }

    /** Block matrices a quantized base should hold and does not (after loading: what the files lacked). */
    public List<String> missingQuantized() {
        List<String> missing = new ArrayList<>();
        if (quantizedBase == null) {
            return missing;
        }
        for (int l = 0; l < config().layerCount(); l++) {
            for (LoraConfig.Module m : blocks.modules()) {
                String name = blocks.weightName(l, m);
                if (quantizable.test(name) && !quantizedBase.has(name)) {
                    missing.add(name);
                }
            }
        }
        return missing;
    }



    /** Block {@code layer}'s weight of {@code module}: its view in the buffer, or dequantized from a quantized base. */
    protected INDArray weight(INDArray view, int layer, int module) {
        if (quantizedBase == null) {
            return view;
        }
        LoraConfig.Module m = blocks.modules().get(module);
        long size = m.in() * m.out();
        float[] host = dequantHost.computeIfAbsent(size, k -> new float[(int) (long) k]);
        quantizedBase.dequantize(blocks.weightName(layer, m), host);
        INDArray w = dequantStore.get(NDArrayIndex.interval(0, size))
                .reshape(blocks.linear() ? new long[] {m.out(), m.in()} : new long[] {m.in(), m.out()});
        kernels.upload(w, host);
        return w;
    }

    /** Refuses a quantized base without LoRA, which could not train. */
    protected static void requireAdaptersForQuantized(QuantizedWeights.Kind quantize, LoraConfig lora) {
        if (quantize != null && lora == null) {
            throw new UserInputException("--quantize-base needs LoRA (--lora-r): a quantized base cannot train");
        }
    }

    /** Adds every adapter's update to its base weight; the caller drops the adapters afterwards. */
    public void mergeAdaptersIntoBase() {
        if (virtual != null) {
            throw new UserInputException(virtual.prefix()
                    ? "prefix tuning cannot be merged: its virtual keys and values stand before every sequence in"
                    + " every layer, not a change of the weights; use the adapter directory as the model"
                    : "prompt tuning cannot be merged: its virtual tokens are inputs before every sequence, not a"
                    + " change of the weights; use the adapter directory as the model");
        }
        if (quantizedBase != null) {
            throw new UserInputException("a quantized base cannot take the merge; load the base in fp32");
        }
        if (lora != null) {
            lora.mergeInto(params);
        }
        if (ia3 != null) {
            ia3.mergeInto(params);
        }
    }

    /**
     * The model with its adapters merged into the base weights, as a plain model of the same family
     * (its scalar head kept): what {@code align4j merge} writes. This model's base changes too.
     */
    public DecoderModel merged() {
        mergeAdaptersIntoBase();
        return copyInto(familyModel(scoreHead, Trainable.ALL, null, null));
    }

    /**
     * A model of this family and config whose base weights are this (plain, fp32) model's, set up
     * for training: what trains, fresh-to-be adapters {@code lora} (with their targets), and the
     * base kept as {@code quantize} when given. A stored head is kept; a new one is zero.
     */
    public DecoderModel asBaseOf(boolean withHead, Trainable trainable, LoraConfig lora, QuantizedWeights.Kind quantize) {
        if (lora() != null || quantizedBase != null) {
            throw new IllegalStateException("a base must be a plain fp32 model: merge its adapters first");
        }
        return copyInto(familyModel(withHead, trainable, lora, quantize));
    }

    /** Copies this model's tensors into {@code target} by name (quantizing those it keeps quantized). */
    private DecoderModel copyInto(DecoderModel target) {
        for (String name : params.names()) {
            INDArray v = params.get(name);
            if (target.keepsQuantized(name)) {
                target.quantized().put(name, v.shape(), v.castTo(DataType.FLOAT).dup('c').reshape(v.length())
                        .toFloatVector());
            } else if (target.parameters().has(name)) {
                target.parameters().get(name).assign(v);
            }
        }
        return target;
    }

    /** A zero model of this family and config with this head, trainable set, adapters and quantized base. */
    protected abstract DecoderModel familyModel(boolean withHead, Trainable trainable, LoraConfig lora,
                                                QuantizedWeights.Kind quantize);

    /** Puts LoRA adapters with {@code lora}'s settings on the family's blocks (their tensors are in the layout). */
    protected void attachAdapters(LoraConfig lora) {
        this.lora = lora == null || lora.isIa3() || lora.isVirtual() ? null
                : new LoraAdapters(blocks, lora, params, kernels, this::frozenWeight);
        this.ia3 = lora != null && lora.isIa3() ? new Ia3Adapters(blocks, lora, params) : null;
        this.virtual = lora != null && lora.isVirtual()
                ? new VirtualTokens(lora, params, hiddenWidth(blocks), kvWidth(blocks), blocks.layers()) : null;
    }

    /** A layer's key (and value) width: the Llama family's k_proj output, a third of GPT-2's fused c_attn. */
    private static int kvWidth(BlockLayout blocks) {
        for (LoraConfig.Module m : blocks.modules()) {
            if (m.name().endsWith("k_proj")) {
                return (int) m.out();
            }
        }
        return (int) (blocks.modules().get(0).out() / 3);
    }

    /** The residual stream's width: the input of a block's first projection (GPT-2's c_attn, Llama's q_proj). */
    private static int hiddenWidth(BlockLayout blocks) {
        return (int) blocks.modules().get(0).in();
    }

    /** Block {@code layer}'s weight of {@code module} wherever it lives (DoRA's norms and its extra product read it). */
    private INDArray frozenWeight(int layer, int module) {
        return weight(quantizedBase == null ? params.get(blocks.weightName(layer, blocks.modules().get(module))) : null,
                layer, module);
    }

    /** The adapters' tensors for a layout, when {@code lora} asks for them. */
    protected static List<ParameterSet.Spec> adapterSpecs(BlockLayout blocks, LoraConfig lora) {
        return lora == null ? List.of() : lora.isIa3() ? Ia3Adapters.specs(blocks, lora)
                : lora.isVirtual() ? VirtualTokens.specs(lora, hiddenWidth(blocks), blocks.layers(), kvWidth(blocks))
                : LoraAdapters.specs(blocks, lora);
    }

    /*
     * Prompt tuning's seams in a family's forward and backward (identities without it):
     *   forward:  run on virtualBatch(batch); placeVirtual after the token embedding; realRows of the final hidden
     *   backward: from allRows(dhidden) down to the embedding; virtualBackward of the embedding's gradient
     *   cached:   cachedPositions(positions) before the embedding; placeVirtualCached after it
     * The backward must run down to the embedding when the virtual tokens train (trainsVirtualTokens).
     */

    /** The batch a forward runs on: {@code batch}, or with the virtual tokens before each sequence. */
    protected TokenBatch virtualBatch(TokenBatch batch) {
        return virtual == null ? batch : virtual.extend(batch, config().contextLength());
    }

    /** Puts the virtual tokens' embeddings (plus GPT-2's position embeddings {@code wpe}) in their rows of the embedded {@code x}. */
    protected void placeVirtual(INDArray x, TokenBatch extended, INDArray wpe) {
        if (virtual != null) {
            virtual.place(x, extended.batch(), extended.time(), wpe);
        }
    }

    /** The real tokens' rows of the final hidden states of the current (extended) batch. */
    protected INDArray realRows(INDArray hidden) {
        return virtual == null ? hidden : virtual.realRows(hidden, current.batch(), current.time());
    }

    /** A gradient of the real rows as one of every row of the current (extended) batch. */
    protected INDArray allRows(INDArray dhidden) {
        return virtual == null ? dhidden : virtual.allRows(dhidden, current.batch(), current.time());
    }

    /** The virtual tokens' embedding gradient from {@code dx}, the gradient of the embedded input of the current batch. */
    protected void virtualBackward(INDArray dx) {
        if (virtual != null) {
            virtual.backward(dx, current.batch(), current.time());
        }
    }

    /** Prefix tuning: the virtual rows of layer {@code layer}'s keys and values (columns from {@code kFrom}, {@code vFrom}; after any rotation) take the prefix. */
    protected void injectPrefix(int layer, INDArray k, long kFrom, INDArray v, long vFrom) {
        if (virtual != null) {
            virtual.injectKv(layer, k, kFrom, v, vFrom, current.batch(), current.time());
        }
    }

    /** Prefix tuning: the gradient of the injected keys and values (before any rotation's backward) to the prefix, zeroed in {@code dk}, {@code dv}. */
    protected void injectPrefixBackward(int layer, INDArray dk, long kFrom, INDArray dv, long vFrom) {
        if (virtual != null) {
            virtual.injectKvBackward(layer, dk, kFrom, dv, vFrom, current.batch(), current.time());
        }
    }

    /** Whether the backward must reach the bottom for the virtual tokens (from the layout: a family asks before attaching them). */
    protected boolean trainsVirtualTokens() {
        return params.names().stream().anyMatch(n -> VirtualTokens.isVirtualTensor(n) && trainable.test(n));
    }

    /** A cached step's positions: after the virtual tokens (unless they are being prefilled). */
    protected int[] cachedPositions(int[] positions) {
        return virtual == null ? positions : virtual.shift(positions);
    }

    /** While a cache is prefilled, the virtual tokens' embeddings replace the embedded rows of the step. */
    protected void placeVirtualCached(INDArray x, int batch, int steps, INDArray wpe) {
        if (virtual != null && virtual.prefilling()) {
            virtual.place(x, batch, steps, wpe);
        }
    }

    /*
     * The seams of a block module y = x W (+ b), in the order a family calls them:
     *   forward:  W reads adaptedInput(x); then adapt(y, x)
     *   backward: the base's backward reads adaptedOutputGradient(dy) and writes dx; then adaptBackward(dx, dy, x)
     * LoRA adds to y and dx; IA3 scales y (or, on a feedforward module, x and dx).
     */

    /** What module {@code m}'s matmul reads: {@code inp}, or IA3's scaled copy of a feedforward module's input. */
    protected INDArray adaptedInput(int layer, int m, INDArray inp) {
        return ia3 == null ? inp : ia3.input(layer, m, inp);
    }

    /** The adapter's share of module {@code m}'s output (LoRA's sum, IA3's scale), when it has one. */
    protected void adapt(int layer, int m, INDArray out, INDArray inp, boolean keep) {
        if (lora != null) {
            lora.forward(layer, m, out, inp, keep);
        }
        if (ia3 != null) {
            ia3.output(layer, m, out, keep);
        }
    }

    /** The gradient module {@code m}'s base backward reads: {@code dout}, or IA3's {@code dout ⊙ l} (its vector's gradient taken). */
    protected INDArray adaptedOutputGradient(int layer, int m, INDArray dout) {
        return ia3 == null ? dout : ia3.outputGradient(layer, m, dout);
    }

    /** The adapter's share of module {@code m}'s input gradient, and its own gradients. */
    protected void adaptBackward(int layer, int m, INDArray dinp, INDArray dout, INDArray inp) {
        if (lora != null) {
            lora.backward(layer, m, dinp, dout, inp);
        }
        if (ia3 != null) {
            ia3.backward(layer, m, dinp, inp);
        }
    }

    /** Refuses --freeze / --train-only next to LoRA, which trains its adapters only. */
    protected static Trainable withAdapters(Trainable trainable, LoraConfig lora) {
        if (lora != null && !trainable.all() && trainable != Trainable.ADAPTERS) {
            throw new UserInputException((lora.isIa3() ? "IA3" : "LoRA")
                    + " trains the adapters only: --freeze and --train-only do not apply");
        }
        return lora != null ? Trainable.ADAPTERS : trainable;
    }

    // ---------------------------------------------------------------- vocabulary

    /**
     * Limits the output to the first {@code tokens} ids: a vocabulary padded beyond its tokenizer
     * (GPT-2's 50,257 rows over a smaller tokenizer, nanoGPT's 50,304, Qwen2's 151,936 over
     * 151,665 tokens) would otherwise sample ids no tokenizer can decode. Every forward masks the
     * other logits, so sampling and training see the same distribution and PPO's ratio stays
     * exact; their rows get no gradient from the head.
     */
    public void limitVocabulary(int tokens) {
        if (tokens < 1 || tokens > vocabSize) {
            throw new IllegalArgumentException("vocabulary limit " + tokens + " outside [1, " + vocabSize + "]");
        }
        this.usableVocab = tokens;
    }

    /** Limits the output to the tokenizer's ids when the model's vocabulary is larger (padded). */
    public void limitVocabulary(BpeTokenizer tokenizer) {
        if (tokenizer.vocabSize() < vocabSize) {
            limitVocabulary(tokenizer.vocabSize());
        }
    }

    /** A very negative logit rather than -inf: softmax and its gradient stay finite. */
    protected void maskUnusableRows(INDArray logits) {
        if (usableVocab < vocabSize) {
            logits.get(NDArrayIndex.all(), NDArrayIndex.interval(usableVocab, vocabSize)).assign(-1e9);
        }
    }

    /** Refuses token ids outside the vocabulary and positions outside the context. */
    protected void validate(TokenBatch batch) {
        DecoderConfig c = config();
        if (batch.time() > c.contextLength()) {
            throw new IllegalArgumentException("sequence length " + batch.time() + " exceeds the context of "
                    + c.contextLength());
        }
        for (int t : batch.tokens()) {
            if (t < 0 || t >= vocabSize) {
                throw new UserInputException("token id " + t + " outside the vocabulary [0, " + vocabSize + ")");
            }
        }
        for (int p : batch.positions()) {
            if (p < 0 || p >= c.contextLength()) {
                throw new IllegalArgumentException("position " + p + " outside [0, " + c.contextLength() + ")");
            }
        }
    }

    /** Refuses a cached step that would overflow the cache, or whose tokens or positions are out of range. */
    protected void checkCachedStep(KvCache cache, int[] tokens, int[] positions, int steps) {
        if (cache.length() + steps > cache.capacity()) {
            throw new IllegalArgumentException("KV cache full: " + (cache.length() + steps) + " > " + cache.capacity());
        }
        validate(new TokenBatch(cache.batch(), steps, tokens, positions, null));
    }

    /** Refuses a cache longer than the context. */
    protected void checkCapacity(int capacity) {
        if (capacity > config().contextLength()) {
            throw new IllegalArgumentException("cache capacity " + capacity + " exceeds the context of "
                    + config().contextLength());
        }
    }
}
