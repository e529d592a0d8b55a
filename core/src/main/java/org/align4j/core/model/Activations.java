package org.align4j.core.model;

import java.util.Arrays;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Every buffer of a training step, allocated once for the largest {@code (B, T)} seen and
 * reused; smaller batches use prefix views of the same memory (as in llm.c). Only a larger
 * batch than any before allocates again.
 *
 * <p>With activation recomputation ({@link #checkpointed}) each block keeps only its output
 * ({@code res3}, the next block's input) and every layer's other activations are views of one
 * shared set of buffers, which the backward refills block by block by running the block's forward
 * again: memory for one block's activations instead of {@code nLayer}.
 */
final class Activations {

    private final GptConfig cfg;
    private final DataType type;
    private long capacityRows;
    private long capacityProbs;
    private boolean withLogits;
    private boolean checkpointed;

    // flat storage
    private INDArray encodedStore;
    private INDArray[] ln1Store;
    private INDArray[] ln1MeanStore;
    private INDArray[] ln1RstdStore;
    private INDArray[] qkvStore;
    private INDArray[] probsStore;
    private INDArray[] attyStore;
    private INDArray[] res2Store;
    private INDArray[] ln2Store;
    private INDArray[] ln2MeanStore;
    private INDArray[] ln2RstdStore;
    private INDArray[] fchStore;
    private INDArray[] fchGeluStore;
    private INDArray[] res3Store;
    private INDArray lnfStore;
    private INDArray lnfMeanStore;
    private INDArray lnfRstdStore;
    private INDArray logitsStore;
    private INDArray keyMaskStore;
    private INDArray dresStore;
    private INDArray dsmallStore;
    private INDArray dbigStore;

    // views for the current shape
    int batch;
    int time;
    INDArray encoded;
    INDArray[] ln1;
    INDArray[] ln1Mean;
    INDArray[] ln1Rstd;
    INDArray[] qkv;
    INDArray[] probs;
    INDArray[] atty;
    INDArray[] res2;
    INDArray[] ln2;
    INDArray[] ln2Mean;
    INDArray[] ln2Rstd;
    INDArray[] fch;
    INDArray[] fchGelu;
    INDArray[] res3;
    INDArray lnf;
    INDArray lnfMean;
    INDArray lnfRstd;
    INDArray logits;
    INDArray keyMask;
    /** Gradient of the residual stream, flowing down the layers. */
    INDArray dres;
    /** {@code [N, C]} gradient scratch. */
    INDArray dsmall;
    /** {@code [N, F]} and {@code [N, 3C]} gradient scratch over one buffer. */
    INDArray dbigMlp;
    INDArray dbigQkv;

    Activations(GptConfig cfg, DataType type) {
        this.cfg = cfg;
        this.type = type;
    }

    /** Switches activation recomputation on or off; the buffers are allocated again at the next {@link #shape}. */
    void checkpointed(boolean on) {
        if (on != checkpointed) {
            checkpointed = on;
            capacityRows = 0;
            capacityProbs = 0;
            batch = -1;
        }
    }

    boolean checkpointed() {
        return checkpointed;
    }

    /** Makes the views describe a batch of {@code (batch, time)}, allocating only if it is the largest yet. */
    void shape(int batch, int time, boolean needLogits) {
        long rows = (long) batch * time;
        long probsLen = (long) batch * cfg.nHead() * time * time;
        if (rows > capacityRows || probsLen > capacityProbs || (needLogits && !withLogits)) {
            allocate(Math.max(rows, capacityRows), Math.max(probsLen, capacityProbs), needLogits || withLogits);
        }
        if (this.batch == batch && this.time == time && (!needLogits || logits != null)) {
            return;
        }
        this.batch = batch;
        this.time = time;
        int c = cfg.nEmbd();
        int f = cfg.mlpWidth();
        int layers = cfg.nLayer();
        encoded = view(encodedStore, rows, c);
        ln1 = new INDArray[layers];
        ln1Mean = new INDArray[layers];
        ln1Rstd = new INDArray[layers];
        qkv = new INDArray[layers];
        probs = new INDArray[layers];
        atty = new INDArray[layers];
        res2 = new INDArray[layers];
        ln2 = new INDArray[layers];
        ln2Mean = new INDArray[layers];
        ln2Rstd = new INDArray[layers];
        fch = new INDArray[layers];
        fchGelu = new INDArray[layers];
        res3 = new INDArray[layers];
        for (int l = 0; l < layers; l++) {
            ln1[l] = view(ln1Store[l], rows, c);
            ln1Mean[l] = view(ln1MeanStore[l], rows);
            ln1Rstd[l] = view(ln1RstdStore[l], rows);
            qkv[l] = view(qkvStore[l], rows, 3L * c);
            probs[l] = view(probsStore[l], batch, cfg.nHead(), time, time);
            atty[l] = view(attyStore[l], rows, c);
            res2[l] = view(res2Store[l], rows, c);
            ln2[l] = view(ln2Store[l], rows, c);
            ln2Mean[l] = view(ln2MeanStore[l], rows);
            ln2Rstd[l] = view(ln2RstdStore[l], rows);
            fch[l] = view(fchStore[l], rows, f);
            fchGelu[l] = view(fchGeluStore[l], rows, f);
            res3[l] = view(res3Store[l], rows, c);
        }
        lnf = view(lnfStore, rows, c);
        lnfMean = view(lnfMeanStore, rows);
        lnfRstd = view(lnfRstdStore, rows);
        logits = logitsStore == null ? null : view(logitsStore, rows, cfg.vocabSize());
        keyMask = view(keyMaskStore, batch, time);
        dres = view(dresStore, rows, c);
        dsmall = view(dsmallStore, rows, c);
        dbigMlp = view(dbigStore, rows, f);
        dbigQkv = view(dbigStore, rows, 3L * c);
    }

    private static INDArray view(INDArray store, long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return store.get(NDArrayIndex.interval(0, n)).reshape(shape);
    }

    private INDArray buf(long n) {
        return Nd4j.create(type, n);
    }

    private INDArray[] bufs(long n) {
        INDArray[] a = new INDArray[cfg.nLayer()];
        for (int l = 0; l < a.length; l++) {
            a[l] = buf(n);
        }
        return a;
    }

    /** A block's inner activation: one buffer per layer, or one shared by all layers when recomputed. */
    private INDArray[] blockBufs(long n) {
        if (!checkpointed) {
            return bufs(n);
        }
        INDArray[] a = new INDArray[cfg.nLayer()];
        Arrays.fill(a, buf(n));
        return a;
    }

    private void allocate(long rows, long probsLen, boolean logitsToo) {
        int c = cfg.nEmbd();
        int f = cfg.mlpWidth();
        capacityRows = rows;
        capacityProbs = probsLen;
        withLogits = logitsToo;
        batch = -1;
        encodedStore = buf(rows * c);
        ln1Store = blockBufs(rows * c);
        ln1MeanStore = blockBufs(rows);
        ln1RstdStore = blockBufs(rows);
        qkvStore = blockBufs(rows * 3 * c);
        probsStore = blockBufs(probsLen);
        attyStore = blockBufs(rows * c);
        res2Store = blockBufs(rows * c);
        ln2Store = blockBufs(rows * c);
        ln2MeanStore = blockBufs(rows);
        ln2RstdStore = blockBufs(rows);
        fchStore = blockBufs(rows * f);
        fchGeluStore = blockBufs(rows * f);
        res3Store = bufs(rows * c);
        lnfStore = buf(rows * c);
        lnfMeanStore = buf(rows);
        lnfRstdStore = buf(rows);
        logitsStore = logitsToo ? buf(rows * cfg.vocabSize()) : null;
        keyMaskStore = buf(rows);
        dresStore = buf(rows * c);
        dsmallStore = buf(rows * c);
        dbigStore = buf(rows * Math.max(f, 3L * c));
    }
}
