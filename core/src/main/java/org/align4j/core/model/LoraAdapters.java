package org.align4j.core.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.IntFunction;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import org.align4j.core.kernels.Kernels;

/**
 * The LoRA adapters of a model: for each targeted projection {@code y = x W (+ b)} of each block,
 * two trainable matrices {@code A [r, in]} and {@code B [out, r]} (PEFT's layout) adding
 * {@code (alpha / r) (x Aᵀ) Bᵀ} to its output while {@code W} stays frozen. The family names its
 * adaptable modules ({@link LoraConfig.Module}, in block order) and the prefix of a block's tensor
 * names; everything else is shared. The adapters live in the model's parameter buffer; this class
 * holds their forward and backward and the buffers of {@code x Aᵀ} that the backward needs. With
 * the adapters disabled the model is its base exactly.
 *
 * <p>The forward keeps {@code ū = s x Aᵀ} ({@code s = alpha / r}) and adds {@code ū Bᵀ}; the
 * backward: {@code dB += dyᵀ ū}, {@code du = s dy B}, {@code dA += duᵀ x}, {@code dx += du A}. The
 * scale is applied to the r-wide arrays only, so no elementwise pass over a module's full output.
 */
final class LoraAdapters {

    private final LoraConfig lora;
    private final Kernels kernels;
    private final DataType type;
    private final int layers;
    private final List<LoraConfig.Module> candidates;
    private final IntFunction<String> blockPrefix;
    private final boolean linear;
    private final boolean[] selected;
    private final INDArray[][] a;
    private final INDArray[][] b;
    private INDArray[][] da;
    private INDArray[][] db;
    private boolean enabled = true;
    private int capacity;
    private INDArray[][] uStore;
    private INDArray tmpStore;
    private INDArray duStore;
    private INDArray dxStore;
    private final int[][] rowsKept;

    LoraAdapters(BlockLayout blocks, LoraConfig lora, ParameterSet params, Kernels kernels) {
        this.lora = lora;
        this.kernels = kernels;
        this.type = params.flat().dataType();
        this.layers = blocks.layers();
        this.candidates = blocks.modules();
        this.blockPrefix = blocks.prefix();
        this.linear = blocks.linear();
        this.selected = new boolean[candidates.size()];
        for (int i : lora.select(candidates, blocks.family())) {
            selected[i] = true;
        }
        int n = candidates.size();
        this.a = new INDArray[layers][n];
        this.b = new INDArray[layers][n];
        this.rowsKept = new int[layers][n];
        for (int l = 0; l < layers; l++) {
            for (int m = 0; m < n; m++) {
                if (selected[m]) {
                    a[l][m] = params.get(aName(blockPrefix, l, candidates.get(m)));
                    b[l][m] = params.get(bName(blockPrefix, l, candidates.get(m)));
                }
            }
        }
    }

    static String aName(IntFunction<String> blockPrefix, int layer, LoraConfig.Module m) {
        return blockPrefix.apply(layer) + m.name() + ".lora_A.weight";
    }

    static String bName(IntFunction<String> blockPrefix, int layer, LoraConfig.Module m) {
        return blockPrefix.apply(layer) + m.name() + ".lora_B.weight";
    }

    /** The adapters' tensors, to append to a model's layout. */
    static List<ParameterSet.Spec> specs(BlockLayout blocks, LoraConfig lora) {
        List<Integer> chosen = lora.select(blocks.modules(), blocks.family());
        List<ParameterSet.Spec> s = new ArrayList<>();
        for (int l = 0; l < blocks.layers(); l++) {
            for (int i : chosen) {
                LoraConfig.Module m = blocks.modules().get(i);
                s.add(new ParameterSet.Spec(aName(blocks.prefix(), l, m), new long[] {lora.r(), m.in()}, true));
                s.add(new ParameterSet.Spec(bName(blocks.prefix(), l, m), new long[] {m.out(), lora.r()}, true));
            }
        }
        return s;
    }

    LoraConfig config() {
        return lora;
    }

    void bindGradients(ParameterSet grads) {
        int n = candidates.size();
        da = new INDArray[layers][n];
        db = new INDArray[layers][n];
        for (int l = 0; l < layers; l++) {
            for (int m = 0; m < n; m++) {
                if (selected[m]) {
                    da[l][m] = grads.getOrNull(aName(blockPrefix, l, candidates.get(m)));
                    db[l][m] = grads.getOrNull(bName(blockPrefix, l, candidates.get(m)));
                }
            }
        }
    }

    /** PEFT's initialisation: A from kaiming_uniform(a = sqrt 5), i.e. U(-1/sqrt(in), 1/sqrt(in)); B zero, so training starts at the base. */
    void initialize(SplittableRandom rng) {
        for (int l = 0; l < layers; l++) {
            for (int m = 0; m < candidates.size(); m++) {
                if (!selected[m]) {
                    continue;
                }
                INDArray av = a[l][m];
                double bound = 1 / Math.sqrt(candidates.get(m).in());
                double[] v = new double[(int) av.length()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (rng.nextDouble() * 2 - 1) * bound;
                }
                av.assign(Nd4j.create(v, av.shape(), DataType.DOUBLE).castTo(type));
                b[l][m].assign(0);
            }
        }
    }

    boolean enabled() {
        return enabled;
    }

    void setEnabled(boolean on) {
        this.enabled = on;
    }

    /** {@code out += s (inp Aᵀ) Bᵀ} for module {@code m} (an index into the family's modules); with {@code keep}, {@code inp Aᵀ} is kept for the backward. */
    void forward(int layer, int m, INDArray outArr, INDArray inp, boolean keep) {
        if (!enabled || !selected[m]) {
            return;
        }
        int n = (int) inp.rows();
        ensure(n);
        INDArray u = keep ? rows(uStore[layer][m], n, lora.r()) : rows(duStore, n, lora.r());
        kernels.matmulForward(u, inp, a[layer][m], true, null);
        kernels.scale(u, lora.scale());
        INDArray tmp = rows(tmpStore, n, candidates.get(m).out());
        kernels.matmulForward(tmp, u, b[layer][m], true, null);
        kernels.add(outArr, outArr, tmp);
        if (keep) {
            rowsKept[layer][m] = n;
        }
    }

    /** Given {@code dout} of the module, adds the adapter's part to {@code dinp} and its gradients to dA and dB. */
    void backward(int layer, int m, INDArray dinp, INDArray dout, INDArray inp) {
        if (!enabled || !selected[m]) {
            return;
        }
        int n = (int) inp.rows();
        if (rowsKept[layer][m] != n) {
            throw new IllegalStateException("LoRA backward without its forward");
        }
        INDArray u = rows(uStore[layer][m], n, lora.r());
        INDArray du = rows(duStore, n, lora.r());
        kernels.matmulBackward(du, db == null ? null : db[layer][m], null, dout, u, b[layer][m], true);
        kernels.scale(du, lora.scale());
        INDArray dx = rows(dxStore, n, candidates.get(m).in());
        kernels.matmulBackward(dx, da == null ? null : da[layer][m], null, du, inp, a[layer][m], true);
        kernels.add(dinp, dinp, dx);
    }

    /**
     * Adds each adapter's update to its base weight, PEFT's merge: {@code W += s B A} for a
     * {@code Linear [out, in]} weight, {@code W += s Aᵀ Bᵀ} for a Conv1D {@code [in, out]} one
     * ({@code fan_in_fan_out}).
     */
    void mergeInto(ParameterSet params) {
        for (int l = 0; l < layers; l++) {
            for (int m = 0; m < candidates.size(); m++) {
                if (!selected[m]) {
                    continue;
                }
                INDArray w = params.get(blockPrefix.apply(l) + candidates.get(m).name() + ".weight");
                INDArray delta = linear ? b[l][m].mmul(a[l][m])
                        : a[l][m].transpose().mmul(b[l][m].transpose());
                w.addi(delta.muli(lora.scale()));
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
        uStore = new INDArray[layers][candidates.size()];
        for (int l = 0; l < layers; l++) {
            for (int m = 0; m < candidates.size(); m++) {
                if (selected[m]) {
                    uStore[l][m] = Nd4j.zeros(type, (long) n * lora.r());
                }
            }
        }
        tmpStore = Nd4j.zeros(type, n * maxOut);
        duStore = Nd4j.zeros(type, (long) n * lora.r());
        dxStore = Nd4j.zeros(type, n * maxIn);
        for (int[] r : rowsKept) {
            Arrays.fill(r, -1);
        }
    }

    /** The first {@code n * cols} elements of a flat store as a contiguous {@code [n, cols]} matrix. */
    private static INDArray rows(INDArray store, int n, long cols) {
        return store.get(NDArrayIndex.interval(0, n * cols)).reshape(n, cols);
    }
}
