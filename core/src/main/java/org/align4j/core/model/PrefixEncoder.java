package org.align4j.core.model;

import java.util.List;
import java.util.SplittableRandom;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Prefix tuning's reparameterisation (PEFT's {@code PrefixEncoder} with {@code prefix_projection}):
 * the table of keys and values is {@code T = tanh(E W0ᵀ + b0) W2ᵀ + b2}, {@code E [n, d]} the
 * virtual tokens' embeddings, {@code W0 [h, d]}, {@code W2 [L*2*d, h]} ({@code h}:
 * {@code encoder_hidden_size}), as {@code nn.Sequential(Linear, Tanh, Linear)}. Backward from
 * {@code dT}: {@code dW2 += dTᵀ H}, {@code db2 += Σ dT}, {@code dA = (dT W2) ⊙ (1 - H²)},
 * {@code dW0 += dAᵀ E}, {@code db0 += Σ dA}, {@code dE += dA W0}. PEFT saves the table only, so
 * align4j keeps these tensors, under its own names, in a file of its own beside the adapter.
 */
final class PrefixEncoder {

    static final String EMBEDDING = "prefix_encoder.embedding.weight";
    static final String W0 = "prefix_encoder.transform.0.weight";
    static final String B0 = "prefix_encoder.transform.0.bias";
    static final String W2 = "prefix_encoder.transform.2.weight";
    static final String B2 = "prefix_encoder.transform.2.bias";
    static final List<String> NAMES = List.of(EMBEDDING, W0, B0, W2, B2);

    private final INDArray e;
    private final INDArray w0;
    private final INDArray b0;
    private final INDArray w2;
    private final INDArray b2;
    private INDArray de;
    private INDArray dw0;
    private INDArray db0;
    private INDArray dw2;
    private INDArray db2;
    /** {@code tanh(E W0ᵀ + b0)} of the last forward. */
    private INDArray hidden;

    PrefixEncoder(ParameterSet params) {
        this.e = params.get(EMBEDDING);
        this.w0 = params.get(W0);
        this.b0 = params.get(B0);
        this.w2 = params.get(W2);
        this.b2 = params.get(B2);
    }

    static List<ParameterSet.Spec> specs(int n, int d, int hidden, long tableWidth) {
        return List.of(new ParameterSet.Spec(EMBEDDING, new long[] {n, d}, true),
                new ParameterSet.Spec(W0, new long[] {hidden, d}, true),
                new ParameterSet.Spec(B0, new long[] {hidden}, false),
                new ParameterSet.Spec(W2, new long[] {tableWidth, hidden}, true),
                new ParameterSet.Spec(B2, new long[] {tableWidth}, false));
    }

    void bindGradients(ParameterSet grads) {
        de = grads.getOrNull(EMBEDDING);
        dw0 = grads.getOrNull(W0);
        db0 = grads.getOrNull(B0);
        dw2 = grads.getOrNull(W2);
        db2 = grads.getOrNull(B2);
    }

    /** PEFT's initialisation: the embedding N(0, 1) ({@code nn.Embedding}), each Linear's weight and bias U(-1/sqrt(in), 1/sqrt(in)). */
    void initialize(SplittableRandom rng) {
        fill(e, rng, -1);
        fill(w0, rng, 1 / Math.sqrt(w0.size(1)));
        fill(b0, rng, 1 / Math.sqrt(w0.size(1)));
        fill(w2, rng, 1 / Math.sqrt(w2.size(1)));
        fill(b2, rng, 1 / Math.sqrt(w2.size(1)));
    }

    /** {@code bound} below 0: N(0, 1); else U(-bound, bound). */
    private static void fill(INDArray a, SplittableRandom rng, double bound) {
        double[] v = new double[(int) a.length()];
        for (int i = 0; i < v.length; i++) {
            v[i] = bound < 0 ? rng.nextGaussian() : (rng.nextDouble() * 2 - 1) * bound;
        }
        a.assign(Nd4j.create(v, a.shape(), DataType.DOUBLE).castTo(a.dataType()));
    }

    /** The table into {@code table [n, L*2*d]}, keeping what the backward needs. */
    void forward(INDArray table) {
        hidden = Transforms.tanh(e.mmul(w0.transpose()).addiRowVector(b0), false);
        table.assign(hidden.mmul(w2.transpose()).addiRowVector(b2));
    }

    /** The encoder's gradients from the table's {@code dtable}. */
    void backward(INDArray dtable) {
        if (dw2 != null) {
            dw2.addi(dtable.transpose().mmul(hidden));
        }
        if (db2 != null) {
            db2.addi(dtable.sum(0));
        }
        INDArray da = dtable.mmul(w2).muli(hidden.mul(hidden).rsubi(1));
        if (dw0 != null) {
            dw0.addi(da.transpose().mmul(e));
        }
        if (db0 != null) {
            db0.addi(da.sum(0));
        }
        if (de != null) {
            de.addi(da.mmul(w0));
        }
    }
}
