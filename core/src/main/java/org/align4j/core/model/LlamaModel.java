package org.align4j.core.model;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import org.align4j.core.kernels.Kernels;

/**
 * A Llama-family decoder (Llama, SmolLM2, Qwen2) with a hand-written backward on the same kernels
 * as GPT-2: RMSNorm, rotary embeddings on q and k, grouped-query attention (key/value heads
 * repeated to the query heads as Hugging Face's {@code repeat_kv} does, so the GPT-2 attention
 * kernels serve both; their gradients summed back over each group), SwiGLU MLP, tied or untied
 * output layer. Tensors carry Hugging Face's names and shapes ({@code Linear} weights
 * {@code [out, in]}). Training forward and backward, and KV-cache decoding; no scalar head and no
 * adapters yet; activations are allocated per forward.
 */
public final class LlamaModel {

    private final LlamaConfig config;
    private final Kernels kernels;
    private final DataType type;
    private final ParameterSet params;
    private ParameterSet grads;
    private Forward saved;

    /** What the backward needs from one forward. */
    private record Forward(TokenBatch batch, INDArray[] input, INDArray[] ln1, INDArray[] rstd1, INDArray[] qkv,
                           INDArray[] probs, INDArray[] atty, INDArray[] res2, INDArray[] ln2, INDArray[] rstd2,
                           INDArray[] gate, INDArray[] up, INDArray[] act, INDArray last, INDArray lnf,
                           INDArray rstdf) {
    }

    public LlamaModel(LlamaConfig config, Kernels kernels, DataType type) {
        this.config = config;
        this.kernels = kernels;
        this.type = type;
        this.params = new ParameterSet(layout(config), type);
    }

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

    public LlamaConfig config() {
        return config;
    }

    public ParameterSet parameters() {
        return params;
    }

    public ParameterSet gradients() {
        if (grads == null) {
            grads = params.zerosLike();
        }
        return grads;
    }

    public void zeroGradients() {
        gradients().flat().assign(0);
    }

    /** N(0, 0.02) weights, unit norm gains, zero biases, from one seed. */
    public LlamaModel initialize(long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        for (ParameterSet.Spec s : params.specs()) {
            INDArray v = params.get(s.name());
            if (s.name().endsWith("norm.weight")) {
                v.assign(1.0);
            } else if (s.name().endsWith(".bias")) {
                v.assign(0.0);
            } else {
                double[] x = new double[(int) s.size()];
                for (int i = 0; i < x.length; i++) {
                    x[i] = rng.nextGaussian() * 0.02;
                }
                v.assign(Nd4j.create(x, s.shape(), DataType.DOUBLE).castTo(type));
            }
        }
        return this;
    }

    private INDArray head() {
        return params.get(config.tieWordEmbeddings() ? "model.embed_tokens.weight" : "lm_head.weight");
    }

    private INDArray zeros(long rows, long cols) {
        return Nd4j.zeros(type, rows, cols);
    }

    private INDArray bias(String name) {
        return params.getOrNull(name);
    }

    /** Logits {@code [B*T, V]} of a batch (positions from the batch: left padding keeps rotary positions right). */
    public INDArray forward(TokenBatch batch) {
        LlamaConfig c = config;
        int n = batch.rows();
        int layers = c.numLayers();
        long h = c.hiddenSize();
        long kvw = (long) c.numKvHeads() * c.headSize();
        long f = c.intermediateSize();
        INDArray keyMask = null;
        if (batch.keyMask() != null) {
            keyMask = Nd4j.zeros(type, batch.batch(), batch.time());
            kernels.upload(keyMask, batch.keyMask());
        }
        INDArray x = Nd4j.pullRows(params.get("model.embed_tokens.weight"), 1, batch.tokens());
        Forward s = new Forward(batch, new INDArray[layers], new INDArray[layers], new INDArray[layers],
                new INDArray[layers], new INDArray[layers], new INDArray[layers], new INDArray[layers],
                new INDArray[layers], new INDArray[layers], new INDArray[layers], new INDArray[layers],
                new INDArray[layers], null, zeros(n, h), Nd4j.zeros(type, n));
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            s.input[l] = x;
            s.ln1[l] = zeros(n, h);
            s.rstd1[l] = Nd4j.zeros(type, n);
            kernels.rmsNormForward(s.ln1[l], s.rstd1[l], x, params.get(p + "input_layernorm.weight"), c.rmsNormEps());
            INDArray q = zeros(n, h);
            INDArray k = zeros(n, kvw);
            INDArray v = zeros(n, kvw);
            kernels.matmulForward(q, s.ln1[l], params.get(p + "self_attn.q_proj.weight"), true,
                    bias(p + "self_attn.q_proj.bias"));
            kernels.matmulForward(k, s.ln1[l], params.get(p + "self_attn.k_proj.weight"), true,
                    bias(p + "self_attn.k_proj.bias"));
            kernels.matmulForward(v, s.ln1[l], params.get(p + "self_attn.v_proj.weight"), true,
                    bias(p + "self_attn.v_proj.bias"));
            kernels.rope(q, batch.positions(), c.numHeads(), c.headSize(), c.ropeTheta(), false);
            kernels.rope(k, batch.positions(), c.numKvHeads(), c.headSize(), c.ropeTheta(), false);
            s.qkv[l] = zeros(n, 3 * h);
            s.qkv[l].get(NDArrayIndex.all(), NDArrayIndex.interval(0, h)).assign(q);
            repeatKv(s.qkv[l], k, h);
            repeatKv(s.qkv[l], v, 2 * h);
            s.probs[l] = Nd4j.zeros(type, batch.batch(), c.numHeads(), batch.time(), batch.time());
            s.atty[l] = zeros(n, h);
            kernels.attentionForward(s.atty[l], s.probs[l], s.qkv[l], keyMask, batch.batch(), batch.time(),
                    c.numHeads());
            s.res2[l] = zeros(n, h);
            kernels.matmulForward(s.res2[l], s.atty[l], params.get(p + "self_attn.o_proj.weight"), true, null);
            kernels.add(s.res2[l], s.res2[l], x);
            s.ln2[l] = zeros(n, h);
            s.rstd2[l] = Nd4j.zeros(type, n);
            kernels.rmsNormForward(s.ln2[l], s.rstd2[l], s.res2[l], params.get(p + "post_attention_layernorm.weight"),
                    c.rmsNormEps());
            s.gate[l] = zeros(n, f);
            s.up[l] = zeros(n, f);
            s.act[l] = zeros(n, f);
            kernels.matmulForward(s.gate[l], s.ln2[l], params.get(p + "mlp.gate_proj.weight"), true, null);
            kernels.matmulForward(s.up[l], s.ln2[l], params.get(p + "mlp.up_proj.weight"), true, null);
            kernels.swigluForward(s.act[l], s.gate[l], s.up[l]);
            INDArray res3 = zeros(n, h);
            kernels.matmulForward(res3, s.act[l], params.get(p + "mlp.down_proj.weight"), true, null);
            kernels.add(res3, res3, s.res2[l]);
            x = res3;
        }
        kernels.rmsNormForward(s.lnf(), s.rstdf(), x, params.get("model.norm.weight"), c.rmsNormEps());
        INDArray logits = zeros(n, c.vocabSize());
        kernels.matmulForward(logits, s.lnf(), head(), true, null);
        saved = new Forward(s.batch(), s.input(), s.ln1(), s.rstd1(), s.qkv(), s.probs(), s.atty(), s.res2(), s.ln2(),
                s.rstd2(), s.gate(), s.up(), s.act(), x, s.lnf(), s.rstdf());
        return logits;
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
    private INDArray sumKv(INDArray dqkv, long offset, int n) {
        int hs = config.headSize();
        int group = config.groupSize();
        INDArray out = zeros(n, (long) config.numKvHeads() * hs);
        for (int j = 0; j < config.numKvHeads(); j++) {
            INDArray dst = out.get(NDArrayIndex.all(), NDArrayIndex.interval((long) j * hs, (long) (j + 1) * hs));
            for (int g = 0; g < group; g++) {
                long col = offset + (long) (j * group + g) * hs;
                dst.addi(dqkv.get(NDArrayIndex.all(), NDArrayIndex.interval(col, col + hs)));
            }
        }
        return out;
    }

    /** Accumulates parameter gradients from {@code dlogits [B*T, V]} of the last forward. */
    public void backward(INDArray dlogits) {
        if (saved == null) {
            throw new IllegalStateException("backward called before forward");
        }
        Forward s = saved;
        LlamaConfig c = config;
        ParameterSet g = gradients();
        int n = s.batch().rows();
        long h = c.hiddenSize();
        long f = c.intermediateSize();
        INDArray dlnf = zeros(n, h);
        kernels.matmulBackward(dlnf, g.get(c.tieWordEmbeddings() ? "model.embed_tokens.weight" : "lm_head.weight"),
                null, dlogits, s.lnf(), head(), true);
        INDArray dres = zeros(n, h);
        kernels.rmsNormBackward(dres, g.get("model.norm.weight"), dlnf, s.last(), params.get("model.norm.weight"),
                s.rstdf());
        for (int l = c.numLayers() - 1; l >= 0; l--) {
            String p = "model.layers." + l + ".";
            INDArray dact = zeros(n, f);
            kernels.matmulBackward(dact, g.get(p + "mlp.down_proj.weight"), null, dres, s.act()[l],
                    params.get(p + "mlp.down_proj.weight"), true);
            INDArray dgate = zeros(n, f);
            INDArray dup = zeros(n, f);
            kernels.swigluBackward(dgate, dup, dact, s.gate()[l], s.up()[l]);
            INDArray dln2 = zeros(n, h);
            INDArray tmp = zeros(n, h);
            kernels.matmulBackward(dln2, g.get(p + "mlp.gate_proj.weight"), null, dgate, s.ln2()[l],
                    params.get(p + "mlp.gate_proj.weight"), true);
            kernels.matmulBackward(tmp, g.get(p + "mlp.up_proj.weight"), null, dup, s.ln2()[l],
                    params.get(p + "mlp.up_proj.weight"), true);
            kernels.add(dln2, dln2, tmp);
            kernels.rmsNormBackward(dres, g.get(p + "post_attention_layernorm.weight"), dln2, s.res2()[l],
                    params.get(p + "post_attention_layernorm.weight"), s.rstd2()[l]);
            INDArray datty = zeros(n, h);
            kernels.matmulBackward(datty, g.get(p + "self_attn.o_proj.weight"), null, dres, s.atty()[l],
                    params.get(p + "self_attn.o_proj.weight"), true);
            INDArray dqkv = zeros(n, 3 * h);
            kernels.attentionBackward(dqkv, datty, s.probs()[l], s.qkv()[l], s.batch().batch(), s.batch().time(),
                    c.numHeads());
            INDArray dq = dqkv.get(NDArrayIndex.all(), NDArrayIndex.interval(0, h)).dup();
            INDArray dk = sumKv(dqkv, h, n);
            INDArray dv = sumKv(dqkv, 2 * h, n);
            kernels.rope(dq, s.batch().positions(), c.numHeads(), c.headSize(), c.ropeTheta(), true);
            kernels.rope(dk, s.batch().positions(), c.numKvHeads(), c.headSize(), c.ropeTheta(), true);
            INDArray dln1 = zeros(n, h);
            kernels.matmulBackward(dln1, g.get(p + "self_attn.q_proj.weight"), g.getOrNull(p + "self_attn.q_proj.bias"),
                    dq, s.ln1()[l], params.get(p + "self_attn.q_proj.weight"), true);
            kernels.matmulBackward(tmp, g.get(p + "self_attn.k_proj.weight"), g.getOrNull(p + "self_attn.k_proj.bias"),
                    dk, s.ln1()[l], params.get(p + "self_attn.k_proj.weight"), true);
            kernels.add(dln1, dln1, tmp);
            kernels.matmulBackward(tmp, g.get(p + "self_attn.v_proj.weight"), g.getOrNull(p + "self_attn.v_proj.bias"),
                    dv, s.ln1()[l], params.get(p + "self_attn.v_proj.weight"), true);
            kernels.add(dln1, dln1, tmp);
            kernels.rmsNormBackward(dres, g.get(p + "input_layernorm.weight"), dln1, s.input()[l],
                    params.get(p + "input_layernorm.weight"), s.rstd1()[l]);
        }
        kernels.embeddingBackward(g.get("model.embed_tokens.weight"), null, dres, s.batch().tokens(),
                s.batch().positions());
    }

    // ---------------------------------------------------------------- incremental decoding

    /**
     * A KV cache for {@code batch} sequences of up to {@code capacity} tokens, the key/value heads
     * stored repeated to the query heads so the GPT-2 cached attention kernel serves GQA unchanged.
     */
    public KvCache newCache(int batch, int capacity) {
        if (capacity > config.maxPositions()) {
            throw new IllegalArgumentException("cache capacity " + capacity + " exceeds max_position_embeddings "
                    + config.maxPositions());
        }
        return new KvCache(null, config.numLayers(), config.hiddenSize(), kernels, type, batch, capacity);
    }

    /**
     * Runs {@code steps} new tokens per sequence ({@code tokens [B * steps]} at {@code positions})
     * through the cache and returns the logits of each sequence's last new token {@code [B, V]}.
     */
    public INDArray forwardCached(KvCache cache, int[] tokens, int[] positions, int steps) {
        LlamaConfig c = config;
        int b = cache.batch();
        int start = cache.length();
        if (start + steps > cache.capacity()) {
            throw new IllegalArgumentException("KV cache full: " + (start + steps) + " > " + cache.capacity());
        }
        int n = b * steps;
        long h = c.hiddenSize();
        long kvw = (long) c.numKvHeads() * c.headSize();
        INDArray x = Nd4j.pullRows(params.get("model.embed_tokens.weight"), 1, tokens);
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            INDArray ln = zeros(n, h);
            INDArray rstd = Nd4j.zeros(type, n);
            kernels.rmsNormForward(ln, rstd, x, params.get(p + "input_layernorm.weight"), c.rmsNormEps());
            INDArray q = zeros(n, h);
            INDArray k = zeros(n, kvw);
            INDArray v = zeros(n, kvw);
            kernels.matmulForward(q, ln, params.get(p + "self_attn.q_proj.weight"), true, bias(p + "self_attn.q_proj.bias"));
            kernels.matmulForward(k, ln, params.get(p + "self_attn.k_proj.weight"), true, bias(p + "self_attn.k_proj.bias"));
            kernels.matmulForward(v, ln, params.get(p + "self_attn.v_proj.weight"), true, bias(p + "self_attn.v_proj.bias"));
            kernels.rope(q, positions, c.numHeads(), c.headSize(), c.ropeTheta(), false);
            kernels.rope(k, positions, c.numKvHeads(), c.headSize(), c.ropeTheta(), false);
            INDArray qkv = zeros(n, 3 * h);
            qkv.get(NDArrayIndex.all(), NDArrayIndex.interval(0, h)).assign(q);
            repeatKv(qkv, k, h);
            repeatKv(qkv, v, 2 * h);
            INDArray atty = zeros(n, h);
            kernels.attentionWithCache(atty, qkv, cache.keys(l), cache.values(l), cache.keyMask(), b, steps, start,
                    c.numHeads());
            INDArray res2 = zeros(n, h);
            kernels.matmulForward(res2, atty, params.get(p + "self_attn.o_proj.weight"), true, null);
            kernels.add(res2, res2, x);
            INDArray ln2 = zeros(n, h);
            kernels.rmsNormForward(ln2, rstd, res2, params.get(p + "post_attention_layernorm.weight"), c.rmsNormEps());
            INDArray gate = zeros(n, c.intermediateSize());
            INDArray up = zeros(n, c.intermediateSize());
            kernels.matmulForward(gate, ln2, params.get(p + "mlp.gate_proj.weight"), true, null);
            kernels.matmulForward(up, ln2, params.get(p + "mlp.up_proj.weight"), true, null);
            kernels.swigluForward(gate, gate, up);
            INDArray res3 = zeros(n, h);
            kernels.matmulForward(res3, gate, params.get(p + "mlp.down_proj.weight"), true, null);
            kernels.add(res3, res3, res2);
            x = res3;
        }
        cache.advance(steps);
        int[] last = new int[b];
        for (int i = 0; i < b; i++) {
            last[i] = i * steps + steps - 1;
        }
        INDArray lastRows = Nd4j.pullRows(x, 1, last);
        INDArray lnf = zeros(b, h);
        kernels.rmsNormForward(lnf, Nd4j.zeros(type, b), lastRows, params.get("model.norm.weight"), c.rmsNormEps());
        INDArray logits = zeros(b, c.vocabSize());
        kernels.matmulForward(logits, lnf, head(), true, null);
        return logits;
    }
}
