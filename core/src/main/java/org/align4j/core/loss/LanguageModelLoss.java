package org.align4j.core.loss;

import org.align4j.core.model.DecoderModel;
import org.align4j.core.model.TokenBatch;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Next-token cross-entropy with per-token weights, the loss of SFT and of PPO-ptx's
 * pretraining term. With weights {@code mask / Σ mask} it is the mean over unmasked tokens.
 */
public final class LanguageModelLoss {

    private LanguageModelLoss() {
    }

    /** Weights {@code 1/count} on tokens whose mask is non-zero, 0 elsewhere. */
    public static float[] meanWeights(float[] lossMask) {
        double count = 0;
        for (float m : lossMask) {
            count += m != 0f ? 1 : 0;
        }
        float[] w = new float[lossMask.length];
        if (count == 0) {
            return w;
        }
        for (int i = 0; i < w.length; i++) {
            w[i] = lossMask[i] != 0f ? (float) (1.0 / count) : 0f;
        }
        return w;
    }

    /** Forward, loss {@code Σ w_i · CE_i}, and backward into the model's gradients (accumulated). */
    public static double forwardBackward(DecoderModel model, TokenBatch batch, int[] targets, float[] weights) {
        return forwardBackward(model, batch, targets, weights, null);
    }

    /** As above; also writes each row's most likely token into {@code predictions} when it is not null. */
    public static double forwardBackward(DecoderModel model, TokenBatch batch, int[] targets, float[] weights,
                                         int[] predictions) {
        INDArray logits = model.forward(batch);
        if (predictions != null) {
            model.kernels().argmaxRows(logits, predictions);
        }
        double loss = model.kernels().crossEntropy(logits, targets, weights, logits);
        model.backward(logits);
        return loss;
    }

    /** Forward and loss only; predictions as in {@link #forwardBackward} (may be null). */
    public static double evaluate(DecoderModel model, TokenBatch batch, int[] targets, float[] weights,
                                  int[] predictions) {
        INDArray logits = model.forward(batch);
        if (predictions != null) {
            model.kernels().argmaxRows(logits, predictions);
        }
        double[] logp = new double[targets.length];
        model.kernels().logProbsOf(logits, targets, logp);
        double loss = 0;
        for (int i = 0; i < targets.length; i++) {
            loss -= weights[i] * logp[i];
        }
        return loss;
    }
}
