package org.align4j.core.loss;

import java.util.Arrays;
import java.util.List;

import org.align4j.core.model.DecoderModel;
import org.align4j.core.model.TokenBatch;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Log-probabilities of whole responses: for each sequence of a batch, the sum of
 * {@code log p(target_t)} over its trained (response) tokens and how many there are. DPO and its
 * family turn these into a loss; {@link #backward} takes {@code dLoss/dlogp} per sequence and
 * runs the model's one backward path, since {@code dlogp_t/dlogits_t = onehot(t) - softmax}, which
 * is the cross-entropy kernel's gradient with weight {@code -dLoss/dlogp}.
 */
public final class SequenceLogProbs {

    private final DecoderModel model;
    private TokenBatch batch;
    private int[] targets;
    private float[] mask;
    private INDArray logits;
    private double temperature = 1.0;
    /** From {@link #entropyRows()}: the distribution's probabilities, log-probabilities and entropies per row. */
    private INDArray probs;
    private INDArray logProbs;
    private INDArray entropy;

    public SequenceLogProbs(DecoderModel model) {
        this.model = model;
    }

    /** Per sequence: {@code [0]} the summed log-probability of its masked targets, {@code [1]} their count. */
    public double[][] forward(TokenBatch inputs, int[] targets, float[] lossMask) {
        double[] rows = forwardRows(inputs, targets, lossMask, 1.0);
        int t = inputs.time();
        double[][] out = new double[2][inputs.batch()];
        for (int i = 0; i < rows.length; i++) {
            if (lossMask[i] != 0f) {
                out[0][i / t] += rows[i];
                out[1][i / t]++;
            }
        }
        return out;
    }

    /**
     * {@code log p(target_i)} of every row under {@code softmax(logits / temperature)} (0 where the
     * mask is 0): the per-token log-probabilities PPO compares with the sampler's.
     */
    public double[] forwardRows(TokenBatch inputs, int[] targets, float[] lossMask, double temperature) {
        this.batch = inputs;
        this.targets = targets;
        this.mask = lossMask;
        this.temperature = temperature;
        this.logits = model.forward(inputs);
        this.probs = null;
        if (temperature != 1.0) {
            logits.divi(temperature);
        }
        double[] rowLogp = new double[targets.length];
        model.kernels().logProbsOf(logits, targets, rowLogp);
        for (int i = 0; i < rowLogp.length; i++) {
            rowLogp[i] = lossMask[i] != 0f ? rowLogp[i] : 0;
        }
        return rowLogp;
    }

    /** Accumulates the gradient of {@code Σ_b dLogp[b] · logp_b} into the model's gradients. */
    public void backward(double[] dLogp) {
        if (batch == null || dLogp.length != batch.batch()) {
            throw new IllegalStateException("backward needs the forward of the same batch");
        }
        double[] rows = new double[targets.length];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = dLogp[i / batch.time()];
        }
        backwardRows(rows);
    }

    /**
     * The entropy {@code H_i = -Σ_v p_v log p_v} of {@code softmax(logits_i / temperature)} at every
     * masked row (0 elsewhere), from the last {@link #forwardRows}: what an entropy bonus rewards.
     * Its gradient is taken by {@link #backwardRows(double[], double[])}.
     */
    public double[] entropyRows() {
        if (batch == null) {
            throw new IllegalStateException("entropy needs a forward first");
        }
        long rows = logits.size(0);
        INDArray max = logits.max(1).reshape(rows, 1);
        INDArray shifted = logits.subColumnVector(max);
        INDArray logSum = Transforms.log(Transforms.exp(shifted, true).sum(1), false).reshape(rows, 1);
        logProbs = shifted.subiColumnVector(logSum);
        probs = Transforms.exp(logProbs, true);
        entropy = probs.mul(logProbs).sum(1).negi().reshape(rows, 1);
        double[] h = entropy.toDoubleVector();
        for (int i = 0; i < h.length; i++) {
            h[i] = mask[i] != 0f ? h[i] : 0;
        }
        return h;
    }

    /** Accumulates the gradient of {@code Σ_i dRow[i] · logp_i} over the masked rows into the model's gradients. */
    public void backwardRows(double[] dRow) {
        backwardRows(dRow, null);
    }

    /**
     * As {@link #backwardRows(double[])} plus the gradient of {@code Σ_i dEntropy[i] · H_i} (the
     * entropies of {@link #entropyRows()}): {@code dH_i/dz = -p (log p + H_i)} on the row's logits.
     */
    public void backwardRows(double[] dRow, double[] dEntropy) {
        if (batch == null || dRow.length != targets.length) {
            throw new IllegalStateException("backward needs the forward of the same batch");
        }
        INDArray entropyGrad = null;
        if (dEntropy != null) {
            if (probs == null || dEntropy.length != targets.length) {
                throw new IllegalStateException("an entropy gradient needs entropyRows() of the same batch");
            }
            double[] c = new double[dEntropy.length];
            for (int i = 0; i < c.length; i++) {
                c[i] = mask[i] == 0f ? 0 : -dEntropy[i];
            }
            INDArray coef = Nd4j.createFromArray(c).castTo(logits.dataType()).reshape(c.length, 1);
            entropyGrad = probs.muli(logProbs.addiColumnVector(entropy)).muliColumnVector(coef);
        }
        float[] w = new float[targets.length];
        for (int i = 0; i < w.length; i++) {
            w[i] = mask[i] == 0f ? 0f : (float) -dRow[i];
        }
        model.kernels().crossEntropy(logits, targets, w, logits);
        if (entropyGrad != null) {
            logits.addi(entropyGrad);
            probs = null;
            logProbs = null;
            entropy = null;
        }
        if (temperature != 1.0) {
            logits.divi(temperature); // d/dlogits = d/d(logits / T) / T
        }
        model.backward(logits);
        batch = null;
    }

    /**
     * Summed log-probability of each completion after its prompt under {@code model} (no
     * gradient), in right-padded batches: the reference side of a KL estimate on samples.
     */
    public static double[] ofCompletions(DecoderModel model, List<int[]> prompts, List<int[]> completions, int batchSize,
                                         int pad) {
        SequenceLogProbs slp = new SequenceLogProbs(model);
        double[] out = new double[prompts.size()];
        for (int start = 0; start < prompts.size(); start += batchSize) {
            int n = Math.min(batchSize, prompts.size() - start);
            int[][] inputs = new int[n][];
            int t = 1;
            for (int i = 0; i < n; i++) {
                int[] p = prompts.get(start + i);
                int[] c = completions.get(start + i);
                int[] seq = Arrays.copyOf(p, p.length + c.length);
                System.arraycopy(c, 0, seq, p.length, c.length);
                inputs[i] = Arrays.copyOf(seq, Math.max(1, seq.length - 1));
                t = Math.max(t, inputs[i].length);
            }
            TokenBatch b = TokenBatch.rightPadded(inputs, pad);
            int[] targets = new int[n * b.time()];
            float[] mask = new float[n * b.time()];
            for (int i = 0; i < n; i++) {
                int[] p = prompts.get(start + i);
                int[] c = completions.get(start + i);
                for (int j = 0; j < c.length; j++) {
                    int row = i * b.time() + p.length - 1 + j;
                    targets[row] = c[j];
                    mask[row] = 1f;
                }
            }
            double[][] lp = slp.forward(b, targets, mask);
            System.arraycopy(lp[0], 0, out, start, n);
        }
        return out;
    }

}
