package org.align4j.core.model;

import java.util.Arrays;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.align4j.core.kernels.Kernels;

/**
 * Keys and values of every layer for a batch of sequences being generated ({@code [B, capacity, C]}
 * each), the key mask over those slots, and the scratch activations of incremental forwards.
 */
public final class KvCache {

    private final GptConfig cfg;
    private final DataType type;
    private final int batch;
    private final int capacity;
    private final INDArray[] keys;
    private final INDArray[] values;
    private final INDArray keyMask;
    /** Host copy of the key mask, uploaded whole after each change (a few KB). */
    private final float[] hostMask;
    private final Kernels kernels;
    private int length;
    private Scratch scratch;

    KvCache(GptConfig cfg, Kernels kernels, DataType type, int batch, int capacity) {
        this(cfg, cfg.nLayer(), cfg.nEmbd(), kernels, type, batch, capacity);
    }

    /**
     * A cache of {@code layers} layers of {@code width} columns; {@code cfg} sizes GPT-2's scratch
     * activations and may be null for a model that keeps its own (the Llama family, whose
     * {@code width} is its key/value heads' columns).
     */
    KvCache(GptConfig cfg, int layers, int width, Kernels kernels, DataType type, int batch, int capacity) {
        this.cfg = cfg;
        this.kernels = kernels;
        this.hostMask = new float[batch * capacity];
        this.type = type;
        this.batch = batch;
        this.capacity = capacity;
        this.keys = new INDArray[layers];
        this.values = new INDArray[layers];
        for (int l = 0; l < keys.length; l++) {
            keys[l] = Nd4j.zeros(type, batch, capacity, width);
            values[l] = Nd4j.zeros(type, batch, capacity, width);
        }
        this.keyMask = Nd4j.zeros(type, batch, capacity);
    }

    public int batch() {
        return batch;
    }

    public int capacity() {
        return capacity;
    }

    /** Number of positions already filled. */
    public int length() {
        return length;
    }

    INDArray keys(int layer) {
        return keys[layer];
    }

    INDArray values(int layer) {
        return values[layer];
    }

    INDArray keyMask() {
        return keyMask;
    }

    /** Sets the mask of the {@code steps} slots after the current length from {@code mask [B*steps]}. */
    public void setMasks(float[] mask, int steps) {
        for (int b = 0; b < batch; b++) {
            System.arraycopy(mask, b * steps, hostMask, b * capacity + length, steps);
        }
        kernels.upload(keyMask, hostMask);
    }

    void advance(int steps) {
        length += steps;
    }

    /**
     * Row {@code row}'s key mask on the host: visible slots {@code [from, to)}, every other slot
     * hidden. {@link #uploadMask} sends the changes (used by {@link KvBatch} when a row joins).
     */
    void maskRow(int row, int from, int to) {
        int base = row * capacity;
        Arrays.fill(hostMask, base, base + capacity, 0f);
        Arrays.fill(hostMask, base + from, base + to, 1f);
    }

    void uploadMask() {
        kernels.upload(keyMask, hostMask);
    }

    int layers() {
        return keys.length;
    }

    Scratch scratch(int steps) {
        if (scratch == null || scratch.steps != steps) {
            scratch = new Scratch(steps);
        }
        return scratch;
    }

    /** Activations of one incremental forward of {@code steps} tokens per sequence. */
    final class Scratch {
        final int steps;
        final INDArray x;
        final INDArray ln;
        final INDArray mean;
        final INDArray rstd;
        final INDArray qkv;
        final INDArray atty;
        final INDArray tmp;
        final INDArray fch;
        final INDArray last;
        final INDArray lastLn;
        final INDArray lastMean;
        final INDArray lastRstd;
        final INDArray logits;

        Scratch(int steps) {
            this.steps = steps;
            long rows = (long) batch * steps;
            int c = cfg.nEmbd();
            x = Nd4j.create(type, rows, c);
            ln = Nd4j.create(type, rows, c);
            mean = Nd4j.create(type, rows);
            rstd = Nd4j.create(type, rows);
            qkv = Nd4j.create(type, rows, 3L * c);
            atty = Nd4j.create(type, rows, c);
            tmp = Nd4j.create(type, rows, c);
            fch = Nd4j.create(type, rows, cfg.mlpWidth());
            last = steps == 1 ? x : Nd4j.create(type, batch, c);
            lastLn = Nd4j.create(type, batch, c);
            lastMean = Nd4j.create(type, batch);
            lastRstd = Nd4j.create(type, batch);
            logits = Nd4j.create(type, batch, cfg.vocabSize());
        }

        void gatherLastRows(int steps) {
            if (steps == 1) {
                return;
            }
            for (int b = 0; b < batch; b++) {
                last.getRow(b).assign(x.getRow((long) b * steps + steps - 1));
            }
        }
    }
}
