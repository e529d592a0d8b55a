package org.align4j.core.model;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.align4j.core.kernels.Kernels;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * GPT-2 with a hand-written backward pass: learned positions, pre-LayerNorm blocks, fused QKV,
 * causal attention, tanh GELU, final LayerNorm, LM head tied to the token embedding. The
 * parameter buffer, gradients, scalar head and vocabulary limit are {@link DecoderModel}'s.
 */
public final class GptModel extends DecoderModel {

    private final GptConfig config;
    /** The backward stops below the lowest block with a trainable tensor (or runs to the embeddings). */
    private final int lowestTrainableLayer;
    private final boolean embeddingsTrain;
    private final Layer[] layers;
    private Layer[] gradLayers;
    private final Activations acts;

    /** Views of one block's parameters (or gradients), by their GPT-2 names. */
    private record Layer(INDArray ln1g, INDArray ln1b, INDArray qkvW, INDArray qkvB, INDArray projW, INDArray projB,
                         INDArray ln2g, INDArray ln2b, INDArray fcW, INDArray fcB, INDArray fcProjW,
                         INDArray fcProjB) {
        /** Views by name; a tensor the set lacks (a frozen one, in a gradient set) is null. */
        static Layer of(ParameterSet p, int i) {
            String h = "h." + i + ".";
            return new Layer(p.getOrNull(h + "ln_1.weight"), p.getOrNull(h + "ln_1.bias"),
                    p.getOrNull(h + "attn.c_attn.weight"), p.getOrNull(h + "attn.c_attn.bias"),
                    p.getOrNull(h + "attn.c_proj.weight"), p.getOrNull(h + "attn.c_proj.bias"),
                    p.getOrNull(h + "ln_2.weight"), p.getOrNull(h + "ln_2.bias"), p.getOrNull(h + "mlp.c_fc.weight"),
                    p.getOrNull(h + "mlp.c_fc.bias"), p.getOrNull(h + "mlp.c_proj.weight"),
                    p.getOrNull(h + "mlp.c_proj.bias"));
        }
    }

    /** A model with all parameters zero; call {@link #initialize} or load weights into {@link #parameters()}. */
    public GptModel(GptConfig config, Kernels kernels, DataType type) {
        this(config, kernels, type, false);
    }

    /**
     * With {@code scoreHead}, the layout also holds {@value #SCORE_HEAD} {@code [1, n_embd]}, the
     * scalar head of reward and value models (Hugging Face's {@code GPT2ForSequenceClassification}
     * with one label), in the same flat buffer: one optimizer, one clipping norm, one checkpoint.
     */
    public GptModel(GptConfig config, Kernels kernels, DataType type, boolean scoreHead) {
        this(config, kernels, type, scoreHead, Trainable.ALL);
    }

    /**
     * With {@code trainable} other than {@link Trainable#ALL}, only those tensors get gradients and
     * optimizer state, and the backward stops below the lowest block that trains.
     */
    public GptModel(GptConfig config, Kernels kernels, DataType type, boolean scoreHead, Trainable trainable) {
        this(config, kernels, type, scoreHead, trainable, null);
    }

    /**
     * With {@code lora}, LoRA adapters on its target modules join the layout and only they (and a
     * scalar head) train: the base is frozen, whatever {@code trainable} says.
     */
    public GptModel(GptConfig config, Kernels kernels, DataType type, boolean scoreHead, Trainable trainable,
                    LoraConfig lora) {
        this(config, kernels, type, scoreHead, trainable, lora, null);
    }

    /**
     * With {@code quantize} (QLoRA), the blocks' four weight matrices are kept quantized outside the
     * parameter buffer and dequantized when a layer runs; it needs LoRA, since they cannot train.
     */
    public GptModel(GptConfig config, Kernels kernels, DataType type, boolean scoreHead, Trainable trainable,
                    LoraConfig lora, QuantizedWeights.Kind quantize) {
        super(config, kernels, type, specs(config, scoreHead, withDefaults(lora), quantize), scoreHead,
                withAdapters(trainable, lora), blocks(config));
        this.config = config;
        if (quantize != null) {
            keepQuantized(quantize, GptModel::isQuantizable);
        }
        this.embeddingsTrain = this.trainable.test("wte.weight") || this.trainable.test("wpe.weight");
        int lowest = config.nLayer();
        for (ParameterSet.Spec sp : trainableParams.specs()) {
            if (sp.name().startsWith("h.")) {
                lowest = Math.min(lowest, Integer.parseInt(sp.name().substring(2, sp.name().indexOf('.', 2))));
            }
        }
        boolean virtualTrains = trainsVirtualTokens();
        this.lowestTrainableLayer = embeddingsTrain || virtualTrains ? 0 : lowest;
        attachAdapters(withDefaults(lora));
        this.layers = new Layer[config.nLayer()];
        for (int i = 0; i < layers.length; i++) {
            layers[i] = Layer.of(params, i);
        }
        this.acts = new Activations(config, type);
    }

    /** GPT-2's modules that can carry LoRA adapters (indices below), as PEFT names them: Conv1D widths {@code in -> out}. */
    static final int C_ATTN = 0;
    static final int ATTN_C_PROJ = 1;
    static final int C_FC = 2;
    static final int MLP_C_PROJ = 3;

    /** PEFT's default targets for GPT-2. */
    public static final List<String> DEFAULT_LORA_TARGETS = List.of("c_attn");

    /**
     * PEFT's defaults for GPT-2: LoRA on c_attn; IA3 on c_attn (q, k and v together: PEFT scales the
     * fused projection's whole output) and mlp.c_proj, the latter feedforward (its input scaled).
     */
    public static final LoraConfig.Defaults PEFT_DEFAULTS = new LoraConfig.Defaults(DEFAULT_LORA_TARGETS,
            List.of("c_attn", "mlp.c_proj"), List.of("mlp.c_proj"));

    private static LoraConfig withDefaults(LoraConfig lora) {
        return lora == null ? null : lora.orDefaults(PEFT_DEFAULTS);
    }

    static List<LoraConfig.Module> loraModules(GptConfig c) {
        long e = c.nEmbd();
        long f = c.mlpWidth();
        return List.of(new LoraConfig.Module("attn.c_attn", e, 3 * e), new LoraConfig.Module("attn.c_proj", e, e),
                new LoraConfig.Module("mlp.c_fc", e, f), new LoraConfig.Module("mlp.c_proj", f, e));
    }

    static String blockPrefix(int layer) {
        return "h." + layer + ".";
    }

    static BlockLayout blocks(GptConfig c) {
        return new BlockLayout(loraModules(c), GptModel::blockPrefix, false, c.nLayer(), "GPT-2");
    }

    /** The layout with a scalar head and adapters where asked, less the matrices a quantized base keeps outside. */
    private static List<ParameterSet.Spec> specs(GptConfig config, boolean scoreHead, LoraConfig lora,
                                                 QuantizedWeights.Kind quantize) {
        requireAdaptersForQuantized(quantize, lora);
        List<ParameterSet.Spec> specs = new ArrayList<>(layout(config));
        if (scoreHead) {
            specs.add(scoreHeadSpec(config));
        }
        specs.addAll(adapterSpecs(blocks(config), lora));
        if (quantize != null) {
            specs.removeIf(sp -> isQuantizable(sp.name()));
        }
        return specs;
    }

    /** The parameter layout with GPT-2's tensor names and HF Conv1D shapes ({@code [in, out]}). */
    public static List<ParameterSet.Spec> layout(GptConfig c) {
        int e = c.nEmbd();
        int f = c.mlpWidth();
        List<ParameterSet.Spec> s = new ArrayList<>();
        s.add(new ParameterSet.Spec("wte.weight", new long[] {c.vocabSize(), e}, true));
        s.add(new ParameterSet.Spec("wpe.weight", new long[] {c.nPositions(), e}, true));
        for (int i = 0; i < c.nLayer(); i++) {
            String h = "h." + i + ".";
            s.add(new ParameterSet.Spec(h + "ln_1.weight", new long[] {e}, false));
            s.add(new ParameterSet.Spec(h + "ln_1.bias", new long[] {e}, false));
            s.add(new ParameterSet.Spec(h + "attn.c_attn.weight", new long[] {e, 3L * e}, true));
            s.add(new ParameterSet.Spec(h + "attn.c_attn.bias", new long[] {3L * e}, false));
            s.add(new ParameterSet.Spec(h + "attn.c_proj.weight", new long[] {e, e}, true));
            s.add(new ParameterSet.Spec(h + "attn.c_proj.bias", new long[] {e}, false));
            s.add(new ParameterSet.Spec(h + "ln_2.weight", new long[] {e}, false));
            s.add(new ParameterSet.Spec(h + "ln_2.bias", new long[] {e}, false));
            s.add(new ParameterSet.Spec(h + "mlp.c_fc.weight", new long[] {e, f}, true));
            s.add(new ParameterSet.Spec(h + "mlp.c_fc.bias", new long[] {f}, false));
            s.add(new ParameterSet.Spec(h + "mlp.c_proj.weight", new long[] {f, e}, true));
            s.add(new ParameterSet.Spec(h + "mlp.c_proj.bias", new long[] {e}, false));
        }
        s.add(new ParameterSet.Spec("ln_f.weight", new long[] {e}, false));
        s.add(new ParameterSet.Spec("ln_f.bias", new long[] {e}, false));
        return s;
    }

    /**
     * GPT-2's initialisation from one seed: N(0, 0.02) for weights and embeddings, residual
     * projections scaled by 1/sqrt(2 n_layer), zero biases, unit LayerNorm gains.
     */
    public GptModel initialize(long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        double residualStd = 0.02 / Math.sqrt(2.0 * config.nLayer());
        for (ParameterSet.Spec s : params.specs()) {
            INDArray v = params.get(s.name());
            String n = s.name();
            if (LoraConfig.isAdapterTensor(n)) {
                continue;
            } else if (n.contains("ln_")) {
                v.assign(n.endsWith(".weight") ? 1.0 : 0.0);
            } else if (n.endsWith(".bias")) {
                v.assign(0.0);
            } else {
                double std = n.endsWith("c_proj.weight") ? residualStd : 0.02;
                double[] values = new double[(int) s.size()];
                for (int i = 0; i < values.length; i++) {
                    values[i] = rng.nextGaussian() * std;
                }
                v.assign(Nd4j.create(values, s.shape(), DataType.DOUBLE).castTo(v.dataType()));
            }
        }
        initializeAdapterTensors(rng);
        return this;
    }




    @Override
    protected DecoderModel familyModel(boolean withHead, Trainable trainable, LoraConfig lora,
                                       QuantizedWeights.Kind quantize) {
        return new GptModel(config, kernels, dataType(), withHead, trainable,
                lora, quantize);
    }

    /** The block weight matrices a quantized base keeps outside the parameter buffer. */
    public static boolean isQuantizable(String name) {
        return name.startsWith("h.") && (name.endsWith(".attn.c_attn.weight") || name.endsWith(".attn.c_proj.weight")
                || name.endsWith(".mlp.c_fc.weight") || name.endsWith(".mlp.c_proj.weight"));
    }



    @Override
    public String family() {
        return "gpt2";
    }

    @Override
    protected void checkpointingChanged(boolean on) {
        acts.checkpointed(on);
    }

    @Override
    protected void bindGradients(ParameterSet gradients) {
        gradLayers = new Layer[config.nLayer()];
        for (int i = 0; i < gradLayers.length; i++) {
            gradLayers[i] = Layer.of(gradients, i);
        }
    }



    @Override
    public GptConfig config() {
        return config;
    }

    // ---------------------------------------------------------------- forward

    /** Logits {@code [B*T, V]}; the array is reused by the next forward. */
    @Override
    public INDArray forward(TokenBatch batch) {
        INDArray hidden = realRows(run(batch, true));
        INDArray logits = firstRows(acts.logits, hidden.rows());
        kernels.matmulForward(logits, hidden, params.get("wte.weight"), true, null);
        maskUnusableRows(logits);
        return logits;
    }

    /** The first {@code rows} rows of a buffer (all of it without virtual tokens). */
    private static INDArray firstRows(INDArray a, long rows) {
        return a.rows() == rows ? a : a.get(NDArrayIndex.interval(0, rows), NDArrayIndex.all());
    }

    /** Final hidden states {@code [B*T, C]} after {@code ln_f}; reused by the next forward. */
    @Override
    public INDArray forwardHidden(TokenBatch batch) {
        return realRows(run(batch, false));
    }

    private INDArray run(TokenBatch real, boolean logits) {
        TokenBatch batch = virtualBatch(real);
        validate(batch);
        acts.shape(batch.batch(), batch.time(), logits);
        current = batch;
        Activations a = acts;
        INDArray keyMask = null;
        if (batch.keyMask() != null) {
            kernels.upload(a.keyMask, batch.keyMask());
            keyMask = a.keyMask;
        }
        kernels.embeddingForward(a.encoded, batch.tokens(), batch.positions(), params.get("wte.weight"),
                params.get("wpe.weight"));
        placeVirtual(a.encoded, batch, params.get("wpe.weight"));
        INDArray x = a.encoded;
        for (int l = 0; l < layers.length; l++) {
            blockForward(l, x, keyMask, false);
            x = a.res3[l];
        }
        double eps = config.layerNormEpsilon();
        kernels.layerNormForward(a.lnf, a.lnfMean, a.lnfRstd, x, params.get("ln_f.weight"),
                params.get("ln_f.bias"), eps);
        return a.lnf;
    }

    /**
     * Block {@code l} of the current batch from its input {@code x} into the activation buffers.
     * {@code recompute}: the backward's second run of a block whose activations were not kept
     * (activation recomputation); it leaves out the MLP's output projection and residual, which the
     * backward does not read (their input is kept, the adapters' state from the first run too), and
     * replays the first run's dropout masks.
     */
    private void blockForward(int l, INDArray x, INDArray keyMask, boolean recompute) {
        Activations a = acts;
        Layer p = layers[l];
        double eps = config.layerNormEpsilon();
        kernels.layerNormForward(a.ln1[l], a.ln1Mean[l], a.ln1Rstd[l], x, p.ln1g, p.ln1b, eps);
        kernels.matmulForward(a.qkv[l], adaptedInput(l, C_ATTN, a.ln1[l]), weight(p.qkvW, l, C_ATTN), false, p.qkvB);
        adapt(l, C_ATTN, a.qkv[l], a.ln1[l], true);
        injectPrefix(l, a.qkv[l], config.nEmbd(), a.qkv[l], 2L * config.nEmbd());
        kernels.attentionForward(a.atty[l], a.probs[l], a.qkv[l], keyMask, current.batch(), current.time(),
                config.nHead());
        kernels.matmulForward(a.res2[l], adaptedInput(l, ATTN_C_PROJ, a.atty[l]), weight(p.projW, l, ATTN_C_PROJ),
                false, p.projB);
        adapt(l, ATTN_C_PROJ, a.res2[l], a.atty[l], true);
        kernels.add(a.res2[l], a.res2[l], x);
        kernels.layerNormForward(a.ln2[l], a.ln2Mean[l], a.ln2Rstd[l], a.res2[l], p.ln2g, p.ln2b, eps);
        kernels.matmulForward(a.fch[l], adaptedInput(l, C_FC, a.ln2[l]), weight(p.fcW, l, C_FC), false, p.fcB);
        adapt(l, C_FC, a.fch[l], a.ln2[l], true);
        kernels.geluForward(a.fchGelu[l], a.fch[l]);
        if (recompute) {
            return;
        }
        kernels.matmulForward(a.res3[l], adaptedInput(l, MLP_C_PROJ, a.fchGelu[l]),
                weight(p.fcProjW, l, MLP_C_PROJ), false, p.fcProjB);
        adapt(l, MLP_C_PROJ, a.res3[l], a.fchGelu[l], true);
        kernels.add(a.res3[l], a.res3[l], a.res2[l]);
    }

    // ---------------------------------------------------------------- backward

    @Override
    public void backward(INDArray dlogits) {
        requireForward();
        ParameterSet g = gradients();
        Activations a = acts;
        INDArray dhidden = firstRows(a.dsmall, dlogits.rows());
        kernels.matmulBackward(dhidden, g.getOrNull("wte.weight"), null, dlogits, realRows(a.lnf),
                params.get("wte.weight"), true);
        backwardFromNorm(allRows(dhidden));
    }

    @Override
    protected void backwardFromNorm(INDArray dlnf) {
        ParameterSet g = grads;
        Activations a = acts;
        int last = layers.length - 1;
        a.dres.assign(0);
        kernels.layerNormBackward(a.dres, g.getOrNull("ln_f.weight"), g.getOrNull("ln_f.bias"), dlnf, a.res3[last],
                params.get("ln_f.weight"), a.lnfMean, a.lnfRstd);
        for (int l = last; l >= lowestTrainableLayer; l--) {
            Layer p = layers[l];
            Layer d = gradLayers[l];
            INDArray input = l == 0 ? a.encoded : a.res3[l - 1];
            if (acts.checkpointed() && l != last) {
                // the shared buffers hold the last block's activations from the forward; refill them for this one
                replayAdapters(true);
                try {
                    blockForward(l, input, current.keyMask() != null ? a.keyMask : null, true);
                } finally {
                    replayAdapters(false);
                }
            }
            // MLP: res3 = res2 + proj(gelu(fc(ln2(res2))))
            kernels.matmulBackward(a.dbigMlp, d.fcProjW, d.fcProjB, adaptedOutputGradient(l, MLP_C_PROJ, a.dres),
                    a.fchGelu[l], weight(p.fcProjW, l, MLP_C_PROJ), false);
            adaptBackward(l, MLP_C_PROJ, a.dbigMlp, a.dres, a.fchGelu[l]);
            kernels.geluBackward(a.dbigMlp, a.fch[l], a.dbigMlp);
            kernels.matmulBackward(a.dsmall, d.fcW, d.fcB, adaptedOutputGradient(l, C_FC, a.dbigMlp), a.ln2[l],
                    weight(p.fcW, l, C_FC), false);
            adaptBackward(l, C_FC, a.dsmall, a.dbigMlp, a.ln2[l]);
            kernels.layerNormBackward(a.dres, d.ln2g, d.ln2b, a.dsmall, a.res2[l], p.ln2g, a.ln2Mean[l],
                    a.ln2Rstd[l]);
            // attention: res2 = input + proj(attn(qkv(ln1(input))))
            kernels.matmulBackward(a.dsmall, d.projW, d.projB, adaptedOutputGradient(l, ATTN_C_PROJ, a.dres),
                    a.atty[l], weight(p.projW, l, ATTN_C_PROJ), false);
            adaptBackward(l, ATTN_C_PROJ, a.dsmall, a.dres, a.atty[l]);
            kernels.attentionBackward(a.dbigQkv, a.dsmall, a.probs[l], a.qkv[l], current.batch(), current.time(),
                    config.nHead());
            injectPrefixBackward(l, a.dbigQkv, config.nEmbd(), a.dbigQkv, 2L * config.nEmbd());
            kernels.matmulBackward(a.dsmall, d.qkvW, d.qkvB, adaptedOutputGradient(l, C_ATTN, a.dbigQkv), a.ln1[l],
                    weight(p.qkvW, l, C_ATTN), false);
            adaptBackward(l, C_ATTN, a.dsmall, a.dbigQkv, a.ln1[l]);
            kernels.layerNormBackward(a.dres, d.ln1g, d.ln1b, a.dsmall, input, p.ln1g, a.ln1Mean[l],
                    a.ln1Rstd[l]);
        }
        if (embeddingsTrain) {
            kernels.embeddingBackward(g.getOrNull("wte.weight"), g.getOrNull("wpe.weight"), a.dres, current.tokens(),
                    current.positions());
        }
        virtualBackward(a.dres);
    }

    // ---------------------------------------------------------------- incremental decoding

    @Override
    protected KvCache emptyCache(int batch, int capacity) {
        checkCapacity(capacity);
        return new KvCache(config, kernels, dataType(), batch, capacity);
    }

    @Override
    public INDArray forwardCached(KvCache cache, int[] tokens, int[] given, int steps) {
        int b = cache.batch();
        int start = cache.length();
        int[] positions = cachedPositions(given);
        checkCachedStep(cache, tokens, positions, steps);
        KvCache.Scratch s = cache.scratch(steps);
        double eps = config.layerNormEpsilon();
        kernels.embeddingForward(s.x, tokens, positions, params.get("wte.weight"), params.get("wpe.weight"));
        placeVirtualCached(s.x, b, steps, params.get("wpe.weight"));
        for (int l = 0; l < layers.length; l++) {
            Layer p = layers[l];
            kernels.layerNormForward(s.ln, s.mean, s.rstd, s.x, p.ln1g, p.ln1b, eps);
            kernels.matmulForward(s.qkv, adaptedInput(l, C_ATTN, s.ln), weight(p.qkvW, l, C_ATTN), false, p.qkvB);
            adapt(l, C_ATTN, s.qkv, s.ln, false);
            kernels.attentionWithCache(s.atty, s.qkv, cache.keys(l), cache.values(l), cache.keyMask(), b, steps,
                    start, config.nHead());
            kernels.matmulForward(s.tmp, adaptedInput(l, ATTN_C_PROJ, s.atty), weight(p.projW, l, ATTN_C_PROJ), false,
                    p.projB);
            adapt(l, ATTN_C_PROJ, s.tmp, s.atty, false);
            kernels.add(s.x, s.x, s.tmp);
            kernels.layerNormForward(s.ln, s.mean, s.rstd, s.x, p.ln2g, p.ln2b, eps);
            kernels.matmulForward(s.fch, adaptedInput(l, C_FC, s.ln), weight(p.fcW, l, C_FC), false, p.fcB);
            adapt(l, C_FC, s.fch, s.ln, false);
            kernels.geluForward(s.fch, s.fch);
            kernels.matmulForward(s.tmp, adaptedInput(l, MLP_C_PROJ, s.fch), weight(p.fcProjW, l, MLP_C_PROJ), false,
                    p.fcProjB);
            adapt(l, MLP_C_PROJ, s.tmp, s.fch, false);
            kernels.add(s.x, s.x, s.tmp);
        }
        cache.advance(steps);
        // only each sequence's last position needs the final norm and the LM head
        s.gatherLastRows(steps);
        kernels.layerNormForward(s.lastLn, s.lastMean, s.lastRstd, s.last, params.get("ln_f.weight"),
                params.get("ln_f.bias"), eps);
        kernels.matmulForward(s.logits, s.lastLn, params.get("wte.weight"), true, null);
        maskUnusableRows(s.logits);
        return s.logits;
    }
}
