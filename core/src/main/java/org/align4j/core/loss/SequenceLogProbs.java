package org.align4j.core.loss;

import java.util.Arrays;
import java.util.List;

import org.align4j.core.model.DecoderModel;
import org.align4j.core.model.TokenBatch;
import org.nd4j.linalg.api.ndarray.INDArray;

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

    /** Accumulates the gradient of {@code Σ_i dRow[i] · logp_i} over the masked rows into the model's gradients. */
    public void backwardRows(double[] dRow) {
        if (batch == null || dRow.length != targets.length) {
            throw new IllegalStateException("backward needs the forward of the same batch");
        }
        float[] w = new float[targets.length];
        for (int i = 0; i < w.length; i++) {
            w[i] = mask[i] == 0f ? 0f : (float) -dRow[i];
        }
        model.kernels().crossEntropy(logits, targets, w, logits);
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
