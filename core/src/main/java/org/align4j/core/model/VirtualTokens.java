package org.align4j.core.model;

import java.util.List;
import java.util.SplittableRandom;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import org.align4j.core.util.UserInputException;

/**
 * Virtual tokens before every sequence: prompt tuning's embeddings or prefix tuning's keys and values.
 *
 * <p>Prompt tuning (Lester et al. 2021), as PEFT's {@code PromptEmbedding} on a causal LM: {@code n}
 * trained embeddings ({@code prompt_embeddings [n, C]}) stand before every sequence's tokens, the
 * base frozen. As in PEFT, which prepends them to {@code inputs_embeds} and drops any
 * {@code position_ids}, the virtual tokens take positions {@code 0 .. n-1} and a sequence's tokens
 * follow them ({@code n + p}; PEFT offsets the positions by {@code n} for prefix tuning too): GPT-2 adds its learned position embedding to the virtual ones too,
 * the Llama family rotates their queries and keys at those positions. Every real token sees all
 * {@code n} virtual ones (they are never padding); the logits and hidden states returned are the
 * real tokens' only.
 *
 * <p>The family's forward runs on {@link #extend}ed batches ({@code n} rows before each sequence),
 * {@link #place}s the embeddings in the virtual rows after its token embedding, and hands back
 * {@link #realRows}; its backward starts from {@link #allRows} and ends by {@link #backward}, the
 * virtual rows' embedding gradient. Decoding: a new cache is {@link #prefill}ed with the virtual
 * tokens, and the positions of the tokens that follow are {@link #shift}ed by {@code n}.
 *
 * <p>Prefix tuning (Li and Liang 2021; P-Tuning v2's form: every layer), as PEFT's
 * {@code PrefixEncoder} without projection: one table {@code prompt_embeddings [n, L * 2 * d]}
 * ({@code d}: the key/value width, the key/value heads' for grouped-query attention) holds, for
 * layer {@code l}, the keys of the {@code n} virtual tokens in columns {@code 2l d .. (2l+1) d} and
 * their values in the next {@code d} (PEFT's {@code view(n, 2L, heads, head_dim)}), used as they are:
 * no rotation, as PEFT passes them as {@code past_key_values}. In a full forward the virtual rows'
 * keys and values are {@link #injectKv injected} after the layer's projection (and rotation); their
 * queries and outputs are never read. Decoding puts them in the cache directly ({@link #prefill}).
 */
final class VirtualTokens {

    /** PEFT's name of the prompt tuning tensor in {@code adapter_model.safetensors}. */
    static final String PROMPT = "prompt_embeddings";

    private final LoraConfig config;
    private final int n;
    private final int width;
    /** Prefix tuning: the key/value width {@code d} of a layer (else 0). */
    private final int kvWidth;
    /** The prompt tuning embeddings, or prefix tuning's table (a parameter, or the encoder's output). */
    private final INDArray prompt;
    private INDArray dprompt;
    /** Prefix tuning's reparameterisation, or null when the table itself trains. */
    private final PrefixEncoder encoder;
    private boolean enabled = true;
    private boolean prefilling;
    private INDArray realStore;
    private INDArray allStore;

    VirtualTokens(LoraConfig config, ParameterSet params, int width, int kvWidth, int layers) {
        this.config = config;
        this.n = config.virtualTokens();
        this.width = width;
        this.kvWidth = config.isPrefix() ? kvWidth : 0;
        this.encoder = config.projection() ? new PrefixEncoder(params) : null;
        this.prompt = encoder == null ? params.get(PROMPT)
                : Nd4j.zeros(params.flat().dataType(), n, (long) layers * 2 * kvWidth);
    }

    /** Whether a parameter is one of the virtual tokens' (the table or embeddings, or the encoder's). */
    static boolean isVirtualTensor(String name) {
        return name.equals(PROMPT) || PrefixEncoder.NAMES.contains(name);
    }

    /** Prefix tuning's table of keys and values {@code [n, L*2*d]} as it is now (PEFT's saved {@code prompt_embeddings}). */
    INDArray table() {
        refresh();
        return prompt;
    }

    /** With the encoder: the table from its parameters, and the table's gradient zeroed for the backward to come. */
    private void refresh() {
        if (encoder == null) {
            return;
        }
        encoder.forward(prompt);
        if (dprompt != null) {
            dprompt.assign(0);
        }
    }

    /**
     * The tensor of the layout, PEFT's shape for one transformer submodule: {@code [n, hidden]} for
     * prompt tuning, {@code [n, layers * 2 * kvWidth]} for prefix tuning.
     */
    static List<ParameterSet.Spec> specs(LoraConfig config, int hidden, int layers, int kvWidth) {
        long cols = config.isPrefix() ? (long) layers * 2 * kvWidth : hidden;
        if (config.projection()) {
            return PrefixEncoder.specs(config.virtualTokens(), kvWidth, config.encoderHiddenSize(), cols);
        }
        return List.of(new ParameterSet.Spec(PROMPT, new long[] {config.virtualTokens(), cols}, true));
    }

    boolean prefix() {
        return kvWidth > 0;
    }

    LoraConfig config() {
        return config;
    }

    boolean enabled() {
        return enabled;
    }

    void setEnabled(boolean on) {
        this.enabled = on;
    }

    /** The virtual tokens before each sequence now: {@code n}, or 0 with the adapter off. */
    int count() {
        return enabled ? n : 0;
    }

    void bindGradients(ParameterSet grads) {
        if (encoder != null) {
            encoder.bindGradients(grads);
            this.dprompt = Nd4j.zeros(prompt.dataType(), prompt.shape());
        } else {
            this.dprompt = grads.getOrNull(PROMPT);
        }
    }

    /**
     * PEFT's initialisations: {@code RANDOM} is {@code nn.Embedding}'s N(0, 1); {@code TEXT} copies
     * the word embeddings of the init text's tokens ({@code initIds}), repeated or cut to {@code n}.
     */
    void initialize(SplittableRandom rng, INDArray wordEmbeddings, int[] initIds) {
        if (encoder != null) {
            encoder.initialize(rng);
            return;
        }
        if (initIds != null) {
            if (initIds.length == 0) {
                throw new UserInputException("--prompt-tuning-init-text gives no tokens");
            }
            for (int i = 0; i < n; i++) {
                prompt.getRow(i).assign(wordEmbeddings.getRow(initIds[i % initIds.length]));
            }
            return;
        }
        double[] v = new double[(int) prompt.length()];
        for (int i = 0; i < v.length; i++) {
            v[i] = rng.nextGaussian();
        }
        prompt.assign(Nd4j.create(v, prompt.shape(), DataType.DOUBLE).castTo(prompt.dataType()));
    }

    /** {@code batch} with {@code n} virtual rows before each sequence (token 0, positions 0..n-1, visible), its positions shifted by {@code n}. */
    TokenBatch extend(TokenBatch batch, int context) {
        if (!enabled) {
            return batch;
        }
        if (prefix()) {
            refresh();
        }
        int b = batch.batch();
        int t = batch.time();
        int te = t + n;
        if (te > context) {
            throw new UserInputException(config.method() + "'s " + n + " virtual tokens and sequences of " + t
                    + " tokens exceed the context of " + context + " positions: lower --max-length to " + (context - n));
        }
        int[] tokens = new int[b * te];
        int[] positions = new int[b * te];
        float[] mask = new float[b * te];
        for (int s = 0; s < b; s++) {
            for (int i = 0; i < n; i++) {
                positions[s * te + i] = i;
                mask[s * te + i] = 1;
            }
            for (int i = 0; i < t; i++) {
                tokens[s * te + n + i] = batch.tokens()[s * t + i];
                positions[s * te + n + i] = n + batch.positions()[s * t + i];
                mask[s * te + n + i] = batch.keyMask() == null ? 1 : batch.keyMask()[s * t + i];
            }
        }
        return new TokenBatch(b, te, tokens, positions, mask);
    }

    /** Puts the prompt embeddings (plus {@code wpe}'s rows 0..n-1, GPT-2's positions, when given) into the virtual rows of {@code x}. */
    void place(INDArray x, int batch, int time, INDArray wpe) {
        if (!enabled || prefix()) {
            return;
        }
        INDArray rows = wpe == null ? prompt : prompt.add(wpe.get(NDArrayIndex.interval(0, n), NDArrayIndex.all()));
        for (int s = 0; s < batch; s++) {
            x.get(NDArrayIndex.interval((long) s * time, (long) s * time + n), NDArrayIndex.all()).assign(rows);
        }
    }

    /** The real rows {@code [B*T, C]} of {@code hidden [B*(n+T), C]}, copied into a buffer reused by the next call. */
    INDArray realRows(INDArray hidden, int batch, int extendedTime) {
        if (!enabled) {
            return hidden;
        }
        int t = extendedTime - n;
        realStore = fit(realStore, (long) batch * t * width);
        INDArray out = realStore.get(NDArrayIndex.interval(0, (long) batch * t * width)).reshape(batch * t, width);
        for (int s = 0; s < batch; s++) {
            out.get(NDArrayIndex.interval((long) s * t, (long) (s + 1) * t), NDArrayIndex.all())
                    .assign(hidden.get(NDArrayIndex.interval((long) s * extendedTime + n, (long) (s + 1) * extendedTime),
                            NDArrayIndex.all()));
        }
        return out;
    }

    /** {@code d [B*T, C]} of the real rows as {@code [B*(n+T), C]}, the virtual rows zero (nothing reads their outputs). */
    INDArray allRows(INDArray d, int batch, int extendedTime) {
        if (!enabled) {
            return d;
        }
        int t = extendedTime - n;
        allStore = fit(allStore, (long) batch * extendedTime * width);
        INDArray out = allStore.get(NDArrayIndex.interval(0, (long) batch * extendedTime * width))
                .reshape(batch * extendedTime, width);
        for (int s = 0; s < batch; s++) {
            out.get(NDArrayIndex.interval((long) s * extendedTime, (long) s * extendedTime + n), NDArrayIndex.all())
                    .assign(0);
            out.get(NDArrayIndex.interval((long) s * extendedTime + n, (long) (s + 1) * extendedTime),
                    NDArrayIndex.all()).assign(d.get(NDArrayIndex.interval((long) s * t, (long) (s + 1) * t),
                    NDArrayIndex.all()));
        }
        return out;
    }

    /** Adds the virtual rows' share of {@code dx}, the gradient of the embedded input {@code [B*(n+T), C]}, to the prompt's gradient. */
    void backward(INDArray dx, int batch, int extendedTime) {
        if (!enabled || dprompt == null) {
            return;
        }
        if (prefix()) {
            // the table's gradient, gathered from every layer, through the encoder
            if (encoder != null) {
                encoder.backward(dprompt);
            }
            return;
        }
        for (int s = 0; s < batch; s++) {
            dprompt.addi(dx.get(NDArrayIndex.interval((long) s * extendedTime, (long) s * extendedTime + n),
                    NDArrayIndex.all()));
        }
    }

    /** Prefix tuning: layer {@code layer}'s virtual keys {@code [n, d]} (its values with {@code value}), a view of the table. */
    private INDArray table(INDArray t, int layer, boolean value) {
        long from = (2L * layer + (value ? 1 : 0)) * kvWidth;
        return t.get(NDArrayIndex.all(), NDArrayIndex.interval(from, from + kvWidth));
    }

    /** The virtual rows of sequence {@code s} in columns {@code from .. from + d} of {@code a}: one view (a view of a view would not take an assignment). */
    private INDArray virtualRows(INDArray a, int s, int time, long from) {
        return a.get(NDArrayIndex.interval((long) s * time, (long) s * time + n),
                NDArrayIndex.interval(from, from + kvWidth));
    }

    /**
     * Prefix tuning: the virtual rows of the keys (columns {@code kFrom .. kFrom + d} of {@code k},
     * {@code [B*time, *]}, rotated) and values (of {@code v} from {@code vFrom}) take the layer's prefix.
     */
    void injectKv(int layer, INDArray k, long kFrom, INDArray v, long vFrom, int batch, int time) {
        if (!enabled || !prefix()) {
            return;
        }
        for (int s = 0; s < batch; s++) {
            virtualRows(k, s, time, kFrom).assign(table(prompt, layer, false));
            virtualRows(v, s, time, vFrom).assign(table(prompt, layer, true));
        }
    }

    /** Prefix tuning: the virtual rows' {@code dk}, {@code dv} (columns as {@link #injectKv}) go to the prefix's gradient and are zeroed (the injected values read no input). */
    void injectKvBackward(int layer, INDArray dk, long kFrom, INDArray dv, long vFrom, int batch, int time) {
        if (!enabled || !prefix()) {
            return;
        }
        for (int s = 0; s < batch; s++) {
            INDArray rk = virtualRows(dk, s, time, kFrom);
            INDArray rv = virtualRows(dv, s, time, vFrom);
            if (dprompt != null) {
                table(dprompt, layer, false).addi(rk);
                table(dprompt, layer, true).addi(rv);
            }
            rk.assign(0);
            rv.assign(0);
        }
    }

    /** Prefix tuning: every layer's prefix in slots {@code 0..n-1} of each sequence of a new cache ({@code [B, capacity, d]} per layer). */
    void prefill(KvCache cache) {
        refresh();
        for (int l = 0; l < cache.layers(); l++) {
            for (int b = 0; b < cache.batch(); b++) {
                cache.keys(l).get(NDArrayIndex.point(b), NDArrayIndex.interval(0, n), NDArrayIndex.all())
                        .assign(table(prompt, l, false));
                cache.values(l).get(NDArrayIndex.point(b), NDArrayIndex.interval(0, n), NDArrayIndex.all())
                        .assign(table(prompt, l, true));
            }
        }
    }

    /** While a new cache is prefilled, the embedded rows of each sequence are the {@code n} virtual ones. */
    boolean prefilling() {
        return prefilling;
    }

    void setPrefilling(boolean on) {
        this.prefilling = on;
    }

    /** The positions a cached step's tokens take: after the virtual tokens (as given while prefilling). */
    int[] shift(int[] positions) {
        if (!enabled || prefilling) {
            return positions;
        }
        int[] out = new int[positions.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = positions[i] + n;
        }
        return out;
    }

    private INDArray fit(INDArray store, long size) {
        return store != null && store.length() >= size ? store : Nd4j.zeros(prompt.dataType(), size);
    }
}
