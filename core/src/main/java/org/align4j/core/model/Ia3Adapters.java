package org.align4j.core.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntFunction;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * IA3 (Liu et al. 2022, "(IA)³"), as PEFT's {@code IA3Layer}: for each targeted projection
 * {@code y = x W + b} of each block a trained vector {@code l} (PEFT's {@code ia3_l}, initialised
 * to ones, so training starts at the base) that scales the module's output, {@code y = (x W + b) ⊙ l}
 * ({@code ia3_l [out, 1]}), or, for a feedforward module, its input, {@code y = (x ⊙ l) W + b}
 * ({@code ia3_l [1, in]}). The bias is scaled with the output, as PEFT applies {@code l} to the
 * base layer's result (and its merge scales the bias too).
 *
 * <p>Three seams of the model's module: the array its matmul reads ({@link #input}, a scaled copy
 * for a feedforward module), its output after the matmul ({@link #output}, scaled in place, the
 * unscaled {@code y0} kept for the backward), and the gradient that flows into the base's backward
 * ({@link #outputGradient}: {@code dy ⊙ l}, with {@code dl += Σ_rows dy ⊙ y0}); a feedforward
 * module's {@link #backward} then turns the base's gradient of the scaled input {@code g} into
 * the input's: {@code dl += Σ_rows x ⊙ g}, {@code dx = g ⊙ l}.
 */
final class Ia3Adapters {

    private final LoraConfig config;
    private final DataType type;
    private final int layers;
    private final List<LoraConfig.Module> candidates;
    private final IntFunction<String> blockPrefix;
    private final boolean linear;
    private final boolean[] selected;
    private final boolean[] feedforward;
    /** The vectors as rows {@code [1, width]} (views of the parameter buffer) and their gradients. */
    private final INDArray[][] vec;
    private INDArray[][] dvec;
    private boolean enabled = true;
    private int capacity;
    private INDArray[][] y0Store;
    private final int[][] rowsKept;
    private INDArray inStore;
    private INDArray gradStore;

    Ia3Adapters(BlockLayout blocks, LoraConfig config, ParameterSet params) {
        this.config = config;
        this.type = params.flat().dataType();
        this.layers = blocks.layers();
        this.candidates = blocks.modules();
        this.blockPrefix = blocks.prefix();
        this.linear = blocks.linear();
        int n = candidates.size();
        this.selected = new boolean[n];
        List<Integer> chosen = config.select(candidates, blocks.family());
        for (int i : chosen) {
            selected[i] = true;
        }
        this.feedforward = config.feedforwardOf(candidates, chosen);
        this.vec = new INDArray[layers][n];
        this.rowsKept = new int[layers][n];
        for (int l = 0; l < layers; l++) {
            for (int m = 0; m < n; m++) {
                if (selected[m]) {
                    vec[l][m] = row(params.get(name(blockPrefix, l, candidates.get(m))));
                }
            }
        }
    }

    /** PEFT's name of the vector in its saved adapters: {@code ...attn.c_attn.ia3_l}. */
    static String name(IntFunction<String> blockPrefix, int layer, LoraConfig.Module m) {
        return blockPrefix.apply(layer) + m.name() + ".ia3_l";
    }

    /** The vectors' tensors, PEFT's shapes: {@code [1, in]} for a feedforward module, {@code [out, 1]} otherwise. */
    static List<ParameterSet.Spec> specs(BlockLayout blocks, LoraConfig config) {
        List<Integer> chosen = config.select(blocks.modules(), blocks.family());
        boolean[] ff = config.feedforwardOf(blocks.modules(), chosen);
        List<ParameterSet.Spec> s = new ArrayList<>();
        for (int l = 0; l < blocks.layers(); l++) {
            for (int i : chosen) {
                LoraConfig.Module m = blocks.modules().get(i);
                s.add(new ParameterSet.Spec(name(blocks.prefix(), l, m),
                        ff[i] ? new long[] {1, m.in()} : new long[] {m.out(), 1}, false));
            }
        }
        return s;
    }

    private static INDArray row(INDArray v) {
        return v.reshape(1, v.length());
    }

    LoraConfig config() {
        return config;
    }

    void bindGradients(ParameterSet grads) {
        dvec = new INDArray[layers][candidates.size()];
        for (int l = 0; l < layers; l++) {
            for (int m = 0; m < candidates.size(); m++) {
                INDArray g = selected[m] ? grads.getOrNull(name(blockPrefix, l, candidates.get(m))) : null;
                dvec[l][m] = g == null ? null : row(g);
            }
        }
    }

    /** PEFT's {@code init_ia3_weights}: ones, so the model starts as its base. */
    void initialize() {
        for (INDArray[] layer : vec) {
            for (INDArray v : layer) {
                if (v != null) {
                    v.assign(1);
                }
            }
        }
    }

    boolean enabled() {
        return enabled;
    }

    void setEnabled(boolean on) {
        this.enabled = on;
    }

    private boolean active(int m) {
        return enabled && selected[m];
    }

    /** What module {@code m}'s matmul reads: {@code inp}, or for a feedforward module {@code inp ⊙ l} in a scratch array. */
    INDArray input(int layer, int m, INDArray inp) {
        if (!active(m) || !feedforward[m]) {
            return inp;
        }
        int n = (int) inp.rows();
        ensure(n);
        INDArray scaled = rows(inStore, n, inp.columns());
        return scaled.assign(inp).muliRowVector(vec[layer][m]);
    }

    /** Scales module {@code m}'s output by {@code l} (not a feedforward module's); with {@code keep}, keeps {@code y0}. */
    void output(int layer, int m, INDArray out, boolean keep) {
        if (!active(m) || feedforward[m]) {
            return;
        }
        int n = (int) out.rows();
        ensure(n);
        if (keep) {
            rows(y0Store[layer][m], n, out.columns()).assign(out);
            rowsKept[layer][m] = n;
        }
        out.muliRowVector(vec[layer][m]);
    }

    /** The gradient the base's backward of module {@code m} reads: {@code dout}, or {@code dout ⊙ l} for an output-scaled module. */
    INDArray outputGradient(int layer, int m, INDArray dout) {
        if (!active(m) || feedforward[m]) {
            return dout;
        }
        int n = (int) dout.rows();
        if (rowsKept[layer][m] != n) {
            throw new IllegalStateException("IA3 backward without its forward");
        }
        INDArray g = rows(gradStore, n, dout.columns());
        if (dvec != null && dvec[layer][m] != null) {
            g.assign(dout).muli(rows(y0Store[layer][m], n, dout.columns()));
            dvec[layer][m].addi(g.sum(true, 0));
        }
        return g.assign(dout).muliRowVector(vec[layer][m]);
    }

    /** A feedforward module: {@code dinp} holds the base's gradient of the scaled input; makes it the input's. */
    void backward(int layer, int m, INDArray dinp, INDArray inp) {
        if (!active(m) || !feedforward[m]) {
            return;
        }
        if (dvec != null && dvec[layer][m] != null) {
            int n = (int) inp.rows();
            ensure(n);
            INDArray g = rows(inStore, n, inp.columns());
            g.assign(inp).muli(dinp);
            dvec[layer][m].addi(g.sum(true, 0));
        }
        dinp.muliRowVector(vec[layer][m]);
    }

    /**
     * PEFT's merge: the weight's output features (columns of a Conv1D {@code [in, out]} weight, rows
     * of a Linear {@code [out, in]} one) and the bias scaled by {@code l}, or for a feedforward
     * module its input features (rows of a Conv1D weight, columns of a Linear one), the bias unchanged.
     */
    void mergeInto(ParameterSet params) {
        for (int l = 0; l < layers; l++) {
            for (int m = 0; m < candidates.size(); m++) {
                if (!selected[m]) {
                    continue;
                }
                String prefix = blockPrefix.apply(l) + candidates.get(m).name();
                INDArray w = params.get(prefix + ".weight");
                INDArray v = vec[l][m];
                boolean scalesColumns = linear == feedforward[m];
                if (scalesColumns) {
                    w.muliRowVector(v);
                } else {
                    w.muliColumnVector(v.reshape(v.length(), 1));
                }
                if (!feedforward[m] && params.has(prefix + ".bias")) {
                    params.get(prefix + ".bias").muli(v.reshape(params.get(prefix + ".bias").shape()));
                }
            }
        }
    }

    private void ensure(int n) {
        if (n <= capacity) {
            return;
        }
        capacity = n;
        long maxOut = 0;
        long maxIn = 0;
        for (LoraConfig.Module m : candidates) {
            maxOut = Math.max(maxOut, m.out());
            maxIn = Math.max(maxIn, m.in());
        }
        y0Store = new INDArray[layers][candidates.size()];
        for (int l = 0; l < layers; l++) {
            for (int m = 0; m < candidates.size(); m++) {
                if (selected[m] && !feedforward[m]) {
                    y0Store[l][m] = Nd4j.zeros(type, n * candidates.get(m).out());
                }
            }
        }
        inStore = Nd4j.zeros(type, n * maxIn);
        gradStore = Nd4j.zeros(type, n * maxOut);
        for (int[] r : rowsKept) {
            Arrays.fill(r, -1);
        }
    }

    /** The first {@code n * cols} elements of a flat store as a contiguous {@code [n, cols]} matrix. */
    private static INDArray rows(INDArray store, int n, long cols) {
        return store.get(NDArrayIndex.interval(0, n * cols)).reshape(n, cols);
    }
}
