package org.align4j.core.model;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The scalar head of reward and value models: {@code score = h_last · w}, where {@code h_last}
 * is the final hidden state (after {@code ln_f}) at the last real token of each sequence and
 * {@code w} is the model's {@value DecoderModel#SCORE_HEAD}. Right- and left-padded batches read the
 * same token: the last one whose key mask is 1.
 *
 * <p>The backward pass writes {@code dL/dhidden} only at those rows and runs the model's
 * backward from the hidden states, so one backward path serves every stage.
 */
public final class ScoreHead {

    private final DecoderModel model;
    private INDArray dhidden;
    private double[][] lastHidden;
    private int[] lastRows;
    private int rows;
    private INDArray allScores;
    private INDArray dAll;
    private INDArray allHidden;

    public ScoreHead(DecoderModel model) {
        if (!model.hasScoreHead()) {
            throw new IllegalArgumentException("the model has no score head (load it with scoreHead = true)");
        }
        this.model = model;
    }

    public DecoderModel model() {
        return model;
    }

    /** Row index (into {@code B*T}) of each sequence's last real token. */
    public static int[] lastRealRows(TokenBatch batch) {
        int[] rows = new int[batch.batch()];
        for (int b = 0; b < batch.batch(); b++) {
            int last = batch.time() - 1;
            if (batch.keyMask() != null) {
                while (last > 0 && batch.keyMask()[b * batch.time() + last] == 0f) {
                    last--;
                }
            }
            rows[b] = b * batch.time() + last;
        }
        return rows;
    }

    /** One score per sequence. A {@link #backward} may follow for the same batch. */
    public double[] forward(TokenBatch batch) {
        INDArray hidden = model.forwardHidden(batch);
        double[] w = model.parameters().get(DecoderModel.SCORE_HEAD).toDoubleVector();
        lastRows = lastRealRows(batch);
        rows = batch.rows();
        lastHidden = new double[batch.batch()][];
        double[] scores = new double[batch.batch()];
        for (int b = 0; b < scores.length; b++) {
            double[] h = hidden.getRow(lastRows[b]).toDoubleVector();
            lastHidden[b] = h;
            double s = 0;
            for (int c = 0; c < w.length; c++) {
                s += h[c] * w[c];
            }
            scores[b] = s;
        }
        return scores;
    }

    /**
     * A score at every position ({@code [B*T]}): the per-token values of PPO's critic, through the
     * matmul kernels. {@link #backwardAll} may follow for the same batch.
     */
    public double[] forwardAll(TokenBatch batch) {
        INDArray hidden = model.forwardHidden(batch);
        INDArray w = model.parameters().get(DecoderModel.SCORE_HEAD);
        if (allScores == null || allScores.rows() != batch.rows()) {
            allScores = Nd4j.create(w.dataType(), batch.rows(), 1);
            dAll = Nd4j.create(w.dataType(), batch.rows(), w.columns());
        }
        model.kernels().matmulForward(allScores, hidden, w, true, null);
        allHidden = hidden;
        lastRows = null;
        return allScores.toDoubleVector();
    }

    /** Accumulates the gradients of {@code Σ_i dScores[i] · score_i} over every position. */
    public void backwardAll(double[] dScores) {
        if (allHidden == null || dScores.length != allScores.rows()) {
            throw new IllegalStateException("backwardAll needs the forwardAll of the same batch");
        }
        INDArray w = model.parameters().get(DecoderModel.SCORE_HEAD);
        INDArray dout = Nd4j.create(dScores, new long[] {dScores.length, 1}, org.nd4j.linalg.api.buffer.DataType.DOUBLE)
                .castTo(w.dataType());
        model.kernels().matmulBackward(dAll, model.gradients().get(DecoderModel.SCORE_HEAD), null, dout, allHidden, w,
                true);
        model.backwardHidden(dAll);
        allHidden = null;
    }

    /** Accumulates the gradients of {@code Σ_b dScores[b] · score_b} into the model's gradients. */
    public void backward(double[] dScores) {
        if (lastRows == null || dScores.length != lastRows.length) {
            throw new IllegalStateException("backward needs the forward of the same batch");
        }
        INDArray wArr = model.parameters().get(DecoderModel.SCORE_HEAD);
        double[] w = wArr.toDoubleVector();
        double[] dw = new double[w.length];
        if (dhidden == null || dhidden.rows() != rows) {
            dhidden = Nd4j.zeros(wArr.dataType(), rows, w.length);
        } else {
            dhidden.assign(0);
        }
        for (int b = 0; b < dScores.length; b++) {
            double[] d = new double[w.length];
            for (int c = 0; c < w.length; c++) {
                d[c] = dScores[b] * w[c];
                dw[c] += dScores[b] * lastHidden[b][c];
            }
            dhidden.getRow(lastRows[b]).addi(Nd4j.create(d).castTo(wArr.dataType()));
        }
        INDArray g = model.gradients().get(DecoderModel.SCORE_HEAD);
        g.addi(Nd4j.create(dw, new long[] {1, w.length}, org.nd4j.linalg.api.buffer.DataType.DOUBLE)
                .castTo(g.dataType()));
        model.backwardHidden(dhidden);
    }
}
