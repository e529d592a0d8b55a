package org.align4j.core.kernels;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The numerical building blocks of the transformer, each a forward and a backward (as in
 * llm.c). Activations are 2-D row-major {@code [N, C]} with {@code N = B * T} rows.
 *
 * <p>Conventions shared by every implementation:
 * <ul>
 *   <li>Outputs are overwritten; parameter gradients ({@code dw}, {@code db}, {@code dgain})
 *       are accumulated ({@code +=}) so that micro-batches and tied weights add up;
 *       {@code dinp} of layer norm is accumulated (it is the residual stream's gradient),
 *       {@code dinp} of matmul is overwritten.</li>
 *   <li>Attention visibility: key {@code j} is visible to the query at absolute position
 *       {@code i} iff {@code j <= i} and (key {@code j} is not padding or {@code j == i}).
 *       The diagonal keeps a padding query's softmax well defined; its output is never
 *       read by a loss.</li>
 *   <li>Every array may be FLOAT or DOUBLE; fast paths may delegate non-FLOAT work to the
 *       generic implementation.</li>
 * </ul>
 */
public interface Kernels {

    String name();

    /** Copies host values into {@code target} (contiguous, same length) without allocating device memory. */
    void upload(INDArray target, float[] values);

    /** Copies a contiguous array's values into {@code dst} (at least {@code src.length()} long). */
    void download(INDArray src, float[] dst);

    /** {@code out[N,C] = wte[tok] + wpe[pos]} row by row; {@code wpe} null: no learned positions (rotary models). */
    void embeddingForward(INDArray out, int[] tokens, int[] positions, INDArray wte, INDArray wpe);

    /**
     * {@code dwte[tok[i]] += dout[i]; dwpe[pos[i]] += dout[i]}; repeated tokens add up. In every
     * backward a parameter's gradient may be null: the tensor is frozen and gets none.
     */
    void embeddingBackward(INDArray dwte, INDArray dwpe, INDArray dout, int[] tokens, int[] positions);

    /**
     * {@code out = inp · w + bias} where {@code w} is {@code [C, OC]}, or {@code inp · wᵀ}
     * for {@code w} of {@code [OC, C]} when {@code transposedWeight} (the tied LM head).
     * {@code bias} may be null.
     */
    void matmulForward(INDArray out, INDArray inp, INDArray w, boolean transposedWeight, INDArray bias);

    /** {@code dinp = dout · wᵀ} (overwritten, skipped if null); {@code dw += ...}; {@code db += Σ rows} (each skipped if null). */
    void matmulBackward(INDArray dinp, INDArray dw, INDArray db, INDArray dout, INDArray inp, INDArray w,
                        boolean transposedWeight);

    /** Layer norm over the last dimension; saves per-row {@code mean} and {@code rstd} ({@code [N]}). */
    void layerNormForward(INDArray out, INDArray mean, INDArray rstd, INDArray inp, INDArray gain, INDArray bias,
                          double eps);

    /** {@code dinp += ...}, {@code dgain += ...}, {@code dbias += ...} (gain and bias skipped if null). */
    void layerNormBackward(INDArray dinp, INDArray dgain, INDArray dbias, INDArray dout, INDArray inp,
                           INDArray gain, INDArray mean, INDArray rstd);

    /** GELU, tanh approximation: {@code 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))}. */
    void geluForward(INDArray out, INDArray inp);

    /** {@code dinp = dout * gelu'(inp)}; {@code dinp} may be {@code dout}. */
    void geluBackward(INDArray dinp, INDArray inp, INDArray dout);

    /** {@code out = a + b}; {@code out} may alias either input. */
    void add(INDArray out, INDArray a, INDArray b);

    /** {@code a *= s}, in place. */
    void scale(INDArray a, double s);

    // ---------------------------------------------------------------- the Llama family's layers

    /** RMSNorm over the last dimension: {@code out = inp * rstd * gain}, {@code rstd = 1/sqrt(mean(inp²) + eps)} saved per row. */
    void rmsNormForward(INDArray out, INDArray rstd, INDArray inp, INDArray gain, double eps);

    /** {@code dinp += ...}; {@code dgain += ...} (skipped if null). */
    void rmsNormBackward(INDArray dinp, INDArray dgain, INDArray dout, INDArray inp, INDArray gain, INDArray rstd);

    /**
     * Rotary position embeddings in place, Hugging Face's rotate-half convention: in each head of
     * {@code x [N, heads * headSize]}, dimension {@code i < headSize/2} and {@code i + headSize/2}
     * rotate by angle {@code positions[row] * invFreq[i]} ({@code invFreq[i] = theta^(-2i/headSize)},
     * or a scaled version: {@link org.align4j.core.model.LlamaConfig#inverseFrequencies}). With
     * {@code inverse} the rotation is undone (the backward of the forward is its inverse: rotations
     * are orthogonal).
     */
    void rope(INDArray x, int[] positions, int heads, int headSize, double[] invFreq, boolean inverse);

    /** SwiGLU: {@code out = silu(gate) * up}, {@code silu(g) = g sigmoid(g)}. */
    void swigluForward(INDArray out, INDArray gate, INDArray up);

    /** {@code dgate = dout * up * silu'(gate)}, {@code dup = dout * silu(gate)} (both overwritten). */
    void swigluBackward(INDArray dgate, INDArray dup, INDArray dout, INDArray gate, INDArray up);

    /**
     * Causal self-attention over a fused {@code qkv [B*T, 3C]} (q, k, v column blocks, heads
     * contiguous inside each block). Writes {@code out [B*T, C]} and saves the attention
     * probabilities {@code probs [B, H, T, T]}. {@code keyMask [B, T]}: 1 for real tokens,
     * 0 for padding; null means no padding.
     */
    void attentionForward(INDArray out, INDArray probs, INDArray qkv, INDArray keyMask, int batch, int time,
                          int heads);

    /** Writes {@code dqkv [B*T, 3C]} (overwritten) from {@code dout [B*T, C]}. */
    void attentionBackward(INDArray dqkv, INDArray dout, INDArray probs, INDArray qkv, int batch, int time,
                           int heads);

    /**
     * Attention for incremental decoding. The {@code steps} new tokens of each sequence sit in
     * {@code qkv [B*steps, 3C]} at absolute positions {@code start .. start+steps-1}; their keys
     * and values are first written into the caches {@code kCache, vCache [B, capacity, C]}, then
     * each query attends to cache positions {@code 0 .. its own}. {@code keyMask [B, capacity]}
     * marks real tokens (null: none are padding).
     */
    void attentionWithCache(INDArray out, INDArray qkv, INDArray kCache, INDArray vCache, INDArray keyMask,
                            int batch, int steps, int start, int heads);

    /**
     * {@link #attentionWithCache} for grouped-query attention with separate projections: {@code q
     * [B*steps, heads*hs]}, {@code k, v [B*steps, kvHeads*hs]}, caches {@code [B, capacity, kvHeads*hs]}.
     * Query head {@code h} attends with key/value head {@code h / (heads / kvHeads)}, as Hugging Face's
     * {@code repeat_kv} pairs them; the cache holds each key/value head once.
     */
    void attentionWithCacheGrouped(INDArray out, INDArray q, INDArray k, INDArray v, INDArray kCache, INDArray vCache,
                                   INDArray keyMask, int batch, int steps, int start, int heads, int kvHeads);

    /**
     * Softmax cross-entropy fused with its gradient: returns {@code Σ_i w_i · -log softmax(logits_i)[t_i]}
     * and writes {@code dlogits_i = w_i (softmax(logits_i) - onehot(t_i))} (rows with
     * {@code w_i == 0} get zeros). {@code dlogits} may be {@code logits} (in place).
     */
    double crossEntropy(INDArray logits, int[] targets, float[] weights, INDArray dlogits);

    /** {@code out[i]} = the index of the largest logit of row {@code i} (the first one on ties). */
    void argmaxRows(INDArray logits, int[] out);

    /** {@code out[i] = log softmax(logits_i)[t_i]} for every row. */
    void logProbsOf(INDArray logits, int[] targets, double[] out);
}
