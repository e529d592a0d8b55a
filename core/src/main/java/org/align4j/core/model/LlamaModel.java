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
 * A Llama-family decoder (Llama, SmolLM2, Qwen2) with a hand-written backward on the same kernels
 * as GPT-2: RMSNorm, rotary embeddings on q and k, grouped-query attention (in training key/value
 * heads repeated to the query heads as Hugging Face's {@code repeat_kv} does, so the GPT-2 attention
 * kernels serve both, their gradients summed back over each group; in decoding the cache holds each
 * key/value head once), SwiGLU MLP, tied or untied
 * output layer. Tensors carry Hugging Face's names and shapes ({@code Linear} weights
 * {@code [out, in]}). With a scalar head the layout is {@code LlamaForSequenceClassification}'s:
 * {@code score.weight [1, hidden]} and no {@code lm_head}. The parameter buffer, trainable
 * subsets, LoRA adapters, gradients and vocabulary limit are {@link DecoderModel}'s; activations
 * live in buffers reused across forwards.
 */
public final class LlamaModel extends DecoderModel {

    private final LlamaConfig config;
    private final double[] invFreq;
    private final Block[] blocks;
    private Block[] gradBlocks;
    private final int lowestTrainableLayer;
    private final boolean embeddingsTrain;
    private ScratchArrays act;
    private final ScratchArrays decode;
    private INDArray finalInput;

    /** Views of one block's tensors (parameters or gradients) by Hugging Face's names; absent ones are null. */
    private record Block(INDArray ln1, INDArray q, INDArray k, INDArray v, INDArray qBias, INDArray kBias,
                         INDArray vBias, INDArray o, INDArray ln2, INDArray gate, INDArray up, INDArray down) {
        static Block of(ParameterSet s, int i) {
            String p = "model.layers." + i + ".";
            return new Block(s.getOrNull(p + "input_layernorm.weight"), s.getOrNull(p + "self_attn.q_proj.weight"),
                    s.getOrNull(p + "self_attn.k_proj.weight"), s.getOrNull(p + "self_attn.v_proj.weight"),
                    s.getOrNull(p + "self_attn.q_proj.bias"), s.getOrNull(p + "self_attn.k_proj.bias"),
                    s.getOrNull(p + "self_attn.v_proj.bias"), s.getOrNull(p + "self_attn.o_proj.weight"),
                    s.getOrNull(p + "post_attention_layernorm.weight"), s.getOrNull(p + "mlp.gate_proj.weight"),
                    s.getOrNull(p + "mlp.up_proj.weight"), s.getOrNull(p + "mlp.down_proj.weight"));
        }
    }

    public LlamaModel(LlamaConfig config, Kernels kernels, DataType type) {
        this(config, kernels, type, false, Trainable.ALL);
    }

    /** With {@code scoreHead}, the sequence-classification layout; {@code trainable} as {@code --freeze} / {@code --train-only} select. */
    public LlamaModel(LlamaConfig config, Kernels kernels, DataType type, boolean scoreHead, Trainable trainable) {
        this(config, kernels, type, scoreHead, trainable, null);
    }

    /**
     * With {@code lora}, LoRA adapters on its target modules (PEFT's default for the family:
     * {@code q_proj}, {@code v_proj}) join the layout and only they (and a scalar head) train.
     */
    public LlamaModel(LlamaConfig config, Kernels kernels, DataType type, boolean scoreHead, Trainable trainable,
                      LoraConfig lora) {
        this(config, kernels, type, scoreHead, trainable, lora, null);
    }

    /**
     * With {@code quantize} (QLoRA), the blocks' seven projection matrices are kept quantized
     * outside the parameter buffer and dequantized where a layer uses them; it needs LoRA.
     */
    public LlamaModel(LlamaConfig config, Kernels kernels, DataType type, boolean scoreHead, Trainable trainable,
                      LoraConfig lora, QuantizedWeights.Kind quantize) {
        super(config, kernels, type, specs(config, scoreHead, withDefaults(lora, config), quantize), scoreHead,
                withAdapters(trainable, lora), blocks(config));
        this.config = config;
        if (quantize != null) {
            keepQuantized(quantize, LlamaModel::isQuantizable);
        }
        attachAdapters(withDefaults(lora, config));
        this.invFreq = config.inverseFrequencies();
        this.blocks = new Block[config.numLayers()];
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = Block.of(params, i);
        }
        this.embeddingsTrain = this.trainable.test("model.embed_tokens.weight");
        int lowest = config.numLayers();
        for (ParameterSet.Spec sp : trainableParams.specs()) {
            if (sp.name().startsWith("model.layers.")) {
                String rest = sp.name().substring("model.layers.".length());
                lowest = Math.min(lowest, Integer.parseInt(rest.substring(0, rest.indexOf('.'))));
            }
        }
        boolean virtualTrains = trainsVirtualTokens();
        this.lowestTrainableLayer = embeddingsTrain || virtualTrains ? 0 : lowest;
        this.act = new ScratchArrays(type);
        this.decode = new ScratchArrays(type);
    }


    private static List<ParameterSet.Spec> specs(LlamaConfig config, boolean scoreHead, LoraConfig lora,
                                                 QuantizedWeights.Kind quantize) {
        requireAdaptersForQuantized(quantize, lora);
        List<ParameterSet.Spec> s = new ArrayList<>(layout(config));
        if (quantize != null) {
            s.removeIf(sp -> isQuantizable(sp.name()));
        }
        if (scoreHead) {
            s.removeIf(sp -> sp.name().equals("lm_head.weight"));
            s.add(scoreHeadSpec(config));
        }
        s.addAll(adapterSpecs(blocks(config), lora));
        return s;
    }

    /** The modules that can carry LoRA adapters (indices below), by PEFT's names: {@code Linear} widths {@code in -> out}. */
    static final int Q = 0;
    static final int K = 1;
    static final int V = 2;
    static final int O = 3;
    static final int GATE = 4;
    static final int UP = 5;
    static final int DOWN = 6;

    /** PEFT's default targets for Llama-family models. */
    public static final List<String> DEFAULT_LORA_TARGETS = List.of("q_proj", "v_proj");

    /**
     * PEFT's defaults by model type: IA3 on k_proj, v_proj and down_proj for llama, q_proj, v_proj
     * and down_proj for qwen2, down_proj feedforward (its input scaled) in both.
     */
    public static LoraConfig.Defaults peftDefaults(String modelType) {
        List<String> ia3 = "qwen2".equals(modelType) ? List.of("q_proj", "v_proj", "down_proj")
                : List.of("k_proj", "v_proj", "down_proj");
        return new LoraConfig.Defaults(DEFAULT_LORA_TARGETS, ia3, List.of("down_proj"));
    }

    private static LoraConfig withDefaults(LoraConfig lora, LlamaConfig config) {
        return lora == null ? null : lora.orDefaults(peftDefaults(config.modelType()));
    }

    static List<LoraConfig.Module> loraModules(LlamaConfig c) {
        long h = c.hiddenSize();
        long kv = (long) c.numKvHeads() * c.headSize();
        long f = c.intermediateSize();
        return List.of(new LoraConfig.Module("self_attn.q_proj", h, h), new LoraConfig.Module("self_attn.k_proj", h, kv),
                new LoraConfig.Module("self_attn.v_proj", h, kv), new LoraConfig.Module("self_attn.o_proj", h, h),
                new LoraConfig.Module("mlp.gate_proj", h, f), new LoraConfig.Module("mlp.up_proj", h, f),
                new LoraConfig.Module("mlp.down_proj", f, h));
    }

    static String blockPrefix(int layer) {
        return "model.layers." + layer + ".";
    }

    static BlockLayout blocks(LlamaConfig c) {
        return new BlockLayout(loraModules(c), LlamaModel::blockPrefix, true, c.numLayers(), c.modelType());
    }




    /** The block matrices a quantized base keeps outside the parameter buffer: the seven projections. */
    public static boolean isQuantizable(String name) {
        return name.startsWith("model.layers.") && name.endsWith("_proj.weight");
    }

    @Override
    protected DecoderModel familyModel(boolean withHead, Trainable trainable, LoraConfig lora,
                                       QuantizedWeights.Kind quantize) {
        return new LlamaModel(config, kernels, dataType(), withHead, trainable,
                lora, quantize);
    }

    /** The causal LM's layout with Hugging Face's names and {@code Linear} shapes. */
    public static List<ParameterSet.Spec> layout(LlamaConfig c) {
        long h = c.hiddenSize();
        long kv = (long) c.numKvHeads() * c.headSize();
        long f = c.intermediateSize();
        List<ParameterSet.Spec> s = new ArrayList<>();
        s.add(new ParameterSet.Spec("model.embed_tokens.weight", new long[] {c.vocabSize(), h}, true));
        for (int i = 0; i < c.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            s.add(new ParameterSet.Spec(p + "input_layernorm.weight", new long[] {h}, false));
            s.add(new ParameterSet.Spec(p + "self_attn.q_proj.weight", new long[] {h, h}, true));
            s.add(new ParameterSet.Spec(p + "self_attn.k_proj.weight", new long[] {kv, h}, true));
            s.add(new ParameterSet.Spec(p + "self_attn.v_proj.weight", new long[] {kv, h}, true));
            if (c.qkvBias()) {
                s.add(new ParameterSet.Spec(p + "self_attn.q_proj.bias", new long[] {h}, false));
                s.add(new ParameterSet.Spec(p + "self_attn.k_proj.bias", new long[] {kv}, false));
                s.add(new ParameterSet.Spec(p + "self_attn.v_proj.bias", new long[] {kv}, false));
            }
            s.add(new ParameterSet.Spec(p + "self_attn.o_proj.weight", new long[] {h, h}, true));
            s.add(new ParameterSet.Spec(p + "post_attention_layernorm.weight", new long[] {h}, false));
            s.add(new ParameterSet.Spec(p + "mlp.gate_proj.weight", new long[] {f, h}, true));
            s.add(new ParameterSet.Spec(p + "mlp.up_proj.weight", new long[] {f, h}, true));
            s.add(new ParameterSet.Spec(p + "mlp.down_proj.weight", new long[] {h, f}, true));
        }
        s.add(new ParameterSet.Spec("model.norm.weight", new long[] {h}, false));
        if (!c.tieWordEmbeddings()) {
            s.add(new ParameterSet.Spec("lm_head.weight", new long[] {c.vocabSize(), h}, true));
        }
        return s;
    }

    @Override
    public LlamaConfig config() {
        return config;
    }

    @Override
    public String family() {
        return config.modelType();
    }

    @Override
    protected void checkpointingChanged(boolean on) {
        // drop the per-layer (or shared) buffers of the other mode
        act = new ScratchArrays(dataType());
    }

    @Override
    protected void bindGradients(ParameterSet gradients) {
        gradBlocks = new Block[config.numLayers()];
        for (int i = 0; i < gradBlocks.length; i++) {
            gradBlocks[i] = Block.of(gradients, i);
        }
    }

    /** N(0, 0.02) weights, unit norm gains, zero biases and head, from one seed. */
    public LlamaModel initialize(long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        for (ParameterSet.Spec s : params.specs()) {
            INDArray v = params.get(s.name());
            if (LoraConfig.isAdapterTensor(s.name())) {
                continue;
            } else if (s.name().endsWith("norm.weight")) {
                v.assign(1.0);
            } else if (s.name().endsWith(".bias") || s.name().equals(SCORE_HEAD)) {
                v.assign(0.0);
            } else {
                double[] x = new double[(int) s.size()];
                for (int i = 0; i < x.length; i++) {
                    x[i] = rng.nextGaussian() * 0.02;
                }
                v.assign(Nd4j.create(x, s.shape(), DataType.DOUBLE).castTo(v.dataType()));
            }
        }
        initializeAdapterTensors(rng);
        return this;
    }

    /** The output layer's weight {@code [V, hidden]}: the embedding when tied. */
    private INDArray head(ParameterSet s) {
        return s.getOrNull(config.tieWordEmbeddings() ? "model.embed_tokens.weight" : "lm_head.weight");
    }

    // ---------------------------------------------------------------- forward

    @Override
    public INDArray forward(TokenBatch batch) {
        INDArray head = head(params);
        if (head == null) {
            throw new IllegalStateException("a sequence-classification model has no LM head");
        }
        INDArray lnf = forwardHidden(batch);
        INDArray logits = act.get("logits", batch.rows(), config.vocabSize());
        kernels.matmulForward(logits, lnf, head, true, null);
        maskUnusableRows(logits);
        return logits;
    }

    @Override
    public INDArray forwardHidden(TokenBatch batch) {
        return realRows(run(virtualBatch(batch)));
    }

    /** The final hidden states of every row of {@code batch} (with prompt tuning's virtual rows). */
    private INDArray run(TokenBatch batch) {
        validate(batch);
        current = batch;
        LlamaConfig c = config;
        int n = batch.rows();
        long h = c.hiddenSize();
        INDArray keyMask = null;
        if (batch.keyMask() != null) {
            keyMask = act.get("keyMask", batch.batch(), batch.time());
            kernels.upload(keyMask, batch.keyMask());
        }
        INDArray x = act.get("embedded", n, h);
        kernels.embeddingForward(x, batch.tokens(), batch.positions(), params.get("model.embed_tokens.weight"), null);
        placeVirtual(x, batch, null);
        for (int l = 0; l < blocks.length; l++) {
            x = blockForward(l, x, keyMask, false);
        }
        finalInput = x;
        INDArray lnf = act.get("lnf", n, h);
        kernels.rmsNormForward(lnf, act.get("rstdf", n), x, params.get("model.norm.weight"), c.rmsNormEps());
        return lnf;
    }

    /**
     * A block's activation named {@code name}: one per layer, or, with activation recomputation, one
     * shared by every layer (the backward refills it block by block). Block outputs stay per layer.
     */
    private String blockAct(String name, int layer) {
        return gradientCheckpointing() ? name : name + "." + layer;
    }

    /**
     * Block {@code l} of the current batch from its input {@code x}; returns its output. {@code
     * recompute}: the backward's second run of a block whose activations were not kept; it leaves out
     * the down projection and residual, which the backward does not read, and replays the first
     * run's dropout masks. Returns null then.
     */
    private INDArray blockForward(int l, INDArray x, INDArray keyMask, boolean recompute) {
        LlamaConfig c = config;
        TokenBatch batch = current;
        int n = batch.rows();
        long h = c.hiddenSize();
        long f = c.intermediateSize();
        Block p = blocks[l];
        INDArray ln1 = act.get(blockAct("ln1", l), n, h);
        kernels.rmsNormForward(ln1, act.get(blockAct("rstd1", l), n), x, p.ln1(), c.rmsNormEps());
        INDArray qkv = act.get(blockAct("qkv", l), n, 3 * h);
        attentionInputs(qkv, ln1, p, l, batch.positions(), n, act, true);
        INDArray atty = act.get(blockAct("atty", l), n, h);
        kernels.attentionForward(atty, act.get(blockAct("probs", l), batch.batch(), c.numHeads(), batch.time(),
                batch.time()), qkv, keyMask, batch.batch(), batch.time(), c.numHeads());
        INDArray res2 = act.get(blockAct("res2", l), n, h);
        kernels.matmulForward(res2, adaptedInput(l, O, atty), weight(p.o(), l, O), true, null);
        adapt(l, O, res2, atty, true);
        kernels.add(res2, res2, x);
        INDArray ln2 = act.get(blockAct("ln2", l), n, h);
        kernels.rmsNormForward(ln2, act.get(blockAct("rstd2", l), n), res2, p.ln2(), c.rmsNormEps());
        INDArray gate = act.get(blockAct("gate", l), n, f);
        INDArray up = act.get(blockAct("up", l), n, f);
        INDArray swiglu = act.get(blockAct("swiglu", l), n, f);
        kernels.matmulForward(gate, adaptedInput(l, GATE, ln2), weight(p.gate(), l, GATE), true, null);
        adapt(l, GATE, gate, ln2, true);
        kernels.matmulForward(up, adaptedInput(l, UP, ln2), weight(p.up(), l, UP), true, null);
        adapt(l, UP, up, ln2, true);
        kernels.swigluForward(swiglu, gate, up);
        if (recompute) {
            return null;
        }
        INDArray res3 = act.get("res3." + l, n, h);
        kernels.matmulForward(res3, adaptedInput(l, DOWN, swiglu), weight(p.down(), l, DOWN), true, null);
        adapt(l, DOWN, res3, swiglu, true);
        kernels.add(res3, res3, res2);
        return res3;
    }

    /** q, k and v of normed inputs, rotated, into {@code qkv [n, 3 hidden]} with k and v repeated per group. */
    private void attentionInputs(INDArray qkv, INDArray ln, Block p, int layer, int[] positions, int n,
                                 ScratchArrays s, boolean keep) {
        long h = config.hiddenSize();
        INDArray q = s.get("q", n, h);
        INDArray k = s.get("k", n, kvWidth());
        INDArray v = s.get("v", n, kvWidth());
        projectQkv(q, k, v, ln, p, layer, positions, keep);
        injectPrefix(layer, k, 0, v, 0);
        qkv.get(NDArrayIndex.all(), NDArrayIndex.interval(0, h)).assign(q);
        repeatKv(qkv, k, h);
        repeatKv(qkv, v, 2 * h);
    }

    /** Columns of the key (or value) projection: one head per key/value head. */
    private long kvWidth() {
        return (long) config.numKvHeads() * config.headSize();
    }

    /** q, k and v of normed inputs, q and k rotated. */
    private void projectQkv(INDArray q, INDArray k, INDArray v, INDArray ln, Block p, int layer, int[] positions,
                            boolean keep) {
        kernels.matmulForward(q, adaptedInput(layer, Q, ln), weight(p.q(), layer, Q), true, p.qBias());
        adapt(layer, Q, q, ln, keep);
        kernels.matmulForward(k, adaptedInput(layer, K, ln), weight(p.k(), layer, K), true, p.kBias());
        adapt(layer, K, k, ln, keep);
        kernels.matmulForward(v, adaptedInput(layer, V, ln), weight(p.v(), layer, V), true, p.vBias());
        adapt(layer, V, v, ln, keep);
        kernels.rope(q, positions, config.numHeads(), config.headSize(), invFreq, false);
        kernels.rope(k, positions, config.numKvHeads(), config.headSize(), invFreq, false);
    }

    /** Copies each key/value head into the columns of the query heads that share it. */
    private void repeatKv(INDArray qkv, INDArray kv, long offset) {
        int hs = config.headSize();
        int group = config.groupSize();
        for (int j = 0; j < config.numKvHeads(); j++) {
            INDArray src = kv.get(NDArrayIndex.all(), NDArrayIndex.interval((long) j * hs, (long) (j + 1) * hs));
            for (int g = 0; g < group; g++) {
                long col = offset + (long) (j * group + g) * hs;
                qkv.get(NDArrayIndex.all(), NDArrayIndex.interval(col, col + hs)).assign(src);
            }
        }
    }

    /** The backward of {@link #repeatKv}: each key/value head's gradient is the sum over its group. */
    private void sumKv(INDArray out, INDArray dqkv, long offset) {
        int hs = config.headSize();
        int group = config.groupSize();
        out.assign(0);
        for (int j = 0; j < config.numKvHeads(); j++) {
            INDArray dst = out.get(NDArrayIndex.all(), NDArrayIndex.interval((long) j * hs, (long) (j + 1) * hs));
            for (int g = 0; g < group; g++) {
                long col = offset + (long) (j * group + g) * hs;
                dst.addi(dqkv.get(NDArrayIndex.all(), NDArrayIndex.interval(col, col + hs)));
            }
        }
    }

    // ---------------------------------------------------------------- backward

    @Override
    public void backward(INDArray dlogits) {
        requireForward();
        ParameterSet g = gradients();
        INDArray dlnf = act.get("dlnf", dlogits.rows(), config.hiddenSize());
        kernels.matmulBackward(dlnf, head(g), null, dlogits,
                realRows(act.get("lnf", current.rows(), config.hiddenSize())), head(params), true);
        backwardFromNorm(allRows(dlnf));
    }



    @Override
    protected void backwardFromNorm(INDArray dlnf) {
        LlamaConfig c = config;
        ParameterSet g = grads;
        int n = current.rows();
        long h = c.hiddenSize();
        long f = c.intermediateSize();
        long kvw = (long) c.numKvHeads() * c.headSize();
        int[] positions = current.positions();
        INDArray dres = act.zeros("dres", n, h);
        kernels.rmsNormBackward(dres, g.getOrNull("model.norm.weight"), dlnf, finalInput,
                params.get("model.norm.weight"), act.get("rstdf", n));
        INDArray dsmall = act.get("dsmall", n, h);
        INDArray tmp = act.get("tmp", n, h);
        for (int l = blocks.length - 1; l >= lowestTrainableLayer; l--) {
            Block p = blocks[l];
            Block d = gradBlocks[l];
            INDArray input = l == 0 ? act.get("embedded", n, h) : act.get("res3." + (l - 1), n, h);
            if (gradientCheckpointing() && l != blocks.length - 1) {
                // the shared buffers hold the last block's activations from the forward; refill them for this one
                replayAdapters(true);
                try {
                    blockForward(l, input, current.keyMask() != null ? act.get("keyMask", current.batch(),
                            current.time()) : null, true);
                } finally {
                    replayAdapters(false);
                }
            }
            // MLP: res3 = res2 + down(silu(gate(ln2)) * up(ln2))
            INDArray dswiglu = act.get("dswiglu", n, f);
            INDArray swiglu = act.get(blockAct("swiglu", l), n, f);
            kernels.matmulBackward(dswiglu, d.down(), null, adaptedOutputGradient(l, DOWN, dres), swiglu,
                    weight(p.down(), l, DOWN), true);
            adaptBackward(l, DOWN, dswiglu, dres, swiglu);
            INDArray dgate = act.get("dgate", n, f);
            INDArray dup = act.get("dup", n, f);
            kernels.swigluBackward(dgate, dup, dswiglu, act.get(blockAct("gate", l), n, f), act.get(blockAct("up", l), n, f));
            INDArray ln2 = act.get(blockAct("ln2", l), n, h);
            kernels.matmulBackward(dsmall, d.gate(), null, adaptedOutputGradient(l, GATE, dgate), ln2,
                    weight(p.gate(), l, GATE), true);
            adaptBackward(l, GATE, dsmall, dgate, ln2);
            kernels.matmulBackward(tmp, d.up(), null, adaptedOutputGradient(l, UP, dup), ln2, weight(p.up(), l, UP),
                    true);
            adaptBackward(l, UP, tmp, dup, ln2);
            kernels.add(dsmall, dsmall, tmp);
            kernels.rmsNormBackward(dres, d.ln2(), dsmall, act.get(blockAct("res2", l), n, h), p.ln2(),
                    act.get(blockAct("rstd2", l), n));
            // attention: res2 = input + o(attention(rope(q), rope(k), v of ln1(input)))
            INDArray atty = act.get(blockAct("atty", l), n, h);
            kernels.matmulBackward(dsmall, d.o(), null, adaptedOutputGradient(l, O, dres), atty, weight(p.o(), l, O),
                    true);
            adaptBackward(l, O, dsmall, dres, atty);
            INDArray dqkv = act.get("dqkv", n, 3 * h);
            kernels.attentionBackward(dqkv, dsmall, act.get(blockAct("probs", l), current.batch(), c.numHeads(),
                    current.time(), current.time()), act.get(blockAct("qkv", l), n, 3 * h), current.batch(),
                    current.time(), c.numHeads());
            INDArray dq = act.get("dq", n, h).assign(dqkv.get(NDArrayIndex.all(), NDArrayIndex.interval(0, h)));
            INDArray dk = act.get("dk", n, kvw);
            INDArray dv = act.get("dv", n, kvw);
            sumKv(dk, dqkv, h);
            sumKv(dv, dqkv, 2 * h);
            injectPrefixBackward(l, dk, 0, dv, 0);
            kernels.rope(dq, positions, c.numHeads(), c.headSize(), invFreq, true);
            kernels.rope(dk, positions, c.numKvHeads(), c.headSize(), invFreq, true);
            INDArray ln1 = act.get(blockAct("ln1", l), n, h);
            kernels.matmulBackward(dsmall, d.q(), d.qBias(), adaptedOutputGradient(l, Q, dq), ln1,
                    weight(p.q(), l, Q), true);
            adaptBackward(l, Q, dsmall, dq, ln1);
            kernels.matmulBackward(tmp, d.k(), d.kBias(), adaptedOutputGradient(l, K, dk), ln1, weight(p.k(), l, K),
                    true);
            adaptBackward(l, K, tmp, dk, ln1);
            kernels.add(dsmall, dsmall, tmp);
            kernels.matmulBackward(tmp, d.v(), d.vBias(), adaptedOutputGradient(l, V, dv), ln1, weight(p.v(), l, V),
                    true);
            adaptBackward(l, V, tmp, dv, ln1);
            kernels.add(dsmall, dsmall, tmp);
            kernels.rmsNormBackward(dres, d.ln1(), dsmall, input, p.ln1(), act.get(blockAct("rstd1", l), n));
        }
        if (embeddingsTrain) {
            kernels.embeddingBackward(g.getOrNull("model.embed_tokens.weight"), null, dres, current.tokens(),
                    positions);
        }
        virtualBackward(dres);
    }

    // ---------------------------------------------------------------- incremental decoding

    /**
     * A KV cache holding each key/value head once (a third of the repeated heads' bytes for SmolLM2's
     * 9 query heads over 3): decoding reads it through the grouped cached attention, which pairs
     * every query head with its key/value head without copying.
     */
    @Override
    protected KvCache emptyCache(int batch, int capacity) {
        checkCapacity(capacity);
        return new KvCache(null, config.numLayers(), (int) kvWidth(), kernels, dataType(), batch, capacity);
    }

    @Override
    public INDArray forwardCached(KvCache cache, int[] tokens, int[] given, int steps) {
        INDArray head = head(params);
        if (head == null) {
            throw new IllegalStateException("a sequence-classification model has no LM head");
        }
        LlamaConfig c = config;
        int b = cache.batch();
        int start = cache.length();
        int[] positions = cachedPositions(given);
        checkCachedStep(cache, tokens, positions, steps);
        int n = b * steps;
        long h = c.hiddenSize();
        long f = c.intermediateSize();
        INDArray x = decode.get("x", n, h);
        kernels.embeddingForward(x, tokens, positions, params.get("model.embed_tokens.weight"), null);
        placeVirtualCached(x, b, steps, null);
        INDArray ln = decode.get("ln", n, h);
        INDArray rstd = decode.get("rstd", n);
        INDArray q = decode.get("q", n, h);
        INDArray k = decode.get("k", n, kvWidth());
        INDArray v = decode.get("v", n, kvWidth());
        INDArray atty = decode.get("atty", n, h);
        INDArray out = decode.get("out", n, h);
        INDArray gate = decode.get("gate", n, f);
        INDArray up = decode.get("up", n, f);
        for (int l = 0; l < blocks.length; l++) {
            Block p = blocks[l];
            kernels.rmsNormForward(ln, rstd, x, p.ln1(), c.rmsNormEps());
            projectQkv(q, k, v, ln, p, l, positions, false);
            kernels.attentionWithCacheGrouped(atty, q, k, v, cache.keys(l), cache.values(l), cache.keyMask(), b,
                    steps, start, c.numHeads(), c.numKvHeads());
            kernels.matmulForward(out, adaptedInput(l, O, atty), weight(p.o(), l, O), true, null);
            adapt(l, O, out, atty, false);
            kernels.add(x, x, out);
            kernels.rmsNormForward(ln, rstd, x, p.ln2(), c.rmsNormEps());
            kernels.matmulForward(gate, adaptedInput(l, GATE, ln), weight(p.gate(), l, GATE), true, null);
            adapt(l, GATE, gate, ln, false);
            kernels.matmulForward(up, adaptedInput(l, UP, ln), weight(p.up(), l, UP), true, null);
            adapt(l, UP, up, ln, false);
            kernels.swigluForward(gate, gate, up);
            kernels.matmulForward(out, adaptedInput(l, DOWN, gate), weight(p.down(), l, DOWN), true, null);
            adapt(l, DOWN, out, gate, false);
            kernels.add(x, x, out);
        }
        cache.advance(steps);
        // only each sequence's last position needs the final norm and the output layer
        int[] last = new int[b];
        for (int i = 0; i < b; i++) {
            last[i] = i * steps + steps - 1;
        }
        INDArray lastRows = steps == 1 ? x : Nd4j.pullRows(x, 1, last);
        INDArray lnf = decode.get("lnf", b, h);
        kernels.rmsNormForward(lnf, decode.get("rstdf", b), lastRows, params.get("model.norm.weight"),
                c.rmsNormEps());
        INDArray logits = decode.get("logits", b, c.vocabSize());
        kernels.matmulForward(logits, lnf, head, true, null);
        maskUnusableRows(logits);
        return logits;
    }
}
