package org.align4j.core.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import org.align4j.core.kernels.Kernels;
import org.align4j.core.model.LoraConfig.Target;

/**
 * The LoRA adapters of a model: for each targeted Conv1D {@code y = x W + b} of each block, two
 * trainable matrices {@code A [r, in]} and {@code B [out, r]} (PEFT's layout) adding
 * {@code (alpha / r) (x Aᵀ) Bᵀ} to its output while {@code W} stays frozen. The adapters live in
 * the model's parameter buffer; this class holds their forward and backward and the buffers of
 * {@code x Aᵀ} that the backward needs. With the adapters disabled the model is its base exactly.
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
    private final List<Target> modules;
    private final INDArray[][] a;
    private final INDArray[][] b;
    private final long[] in = new long[Target.values().length];
    private final long[] out = new long[Target.values().length];
    private INDArray[][] da;
    private INDArray[][] db;
    private boolean enabled = true;
    private int capacity;
    private INDArray[][] uStore;
    private INDArray tmpStore;
    private INDArray duStore;
    private INDArray dxStore;
    private final int[][] rowsKept;

    LoraAdapters(GptConfig config, LoraConfig lora, ParameterSet params, Kernels kernels) {
        this.lora = lora;
        this.kernels = kernels;
        this.type = params.flat().dataType();
        this.layers = config.nLayer();
        this.modules = lora.modules();
        int n = Target.values().length;
        this.a = new INDArray[layers][n];
        this.b = new INDArray[layers][n];
        this.rowsKept = new int[layers][n];
        for (Target t : Target.values()) {
            in[t.ordinal()] = t.in(config);
            out[t.ordinal()] = t.out(config);
        }
        for (int l = 0; l < layers; l++) {
            for (Target t : modules) {
                a[l][t.ordinal()] = params.get(LoraConfig.aName(l, t));
                b[l][t.ordinal()] = params.get(LoraConfig.bName(l, t));
            }
        }
    }

    /** The adapters' tensors, to append to a model's layout. */
    static List<ParameterSet.Spec> specs(GptConfig config, LoraConfig lora) {
        List<ParameterSet.Spec> s = new ArrayList<>();
        for (int l = 0; l < config.nLayer(); l++) {
            for (Target t : lora.modules()) {
                s.add(new ParameterSet.Spec(LoraConfig.aName(l, t), new long[] {lora.r(), t.in(config)}, true));
                s.add(new ParameterSet.Spec(LoraConfig.bName(l, t), new long[] {t.out(config), lora.r()}, true));
            }
        }
        return s;
    }

    LoraConfig config() {
        return lora;
    }

    void bindGradients(ParameterSet grads) {
        int n = Target.values().length;
        da = new INDArray[layers][n];
        db = new INDArray[layers][n];
        for (int l = 0; l < layers; l++) {
            for (Target t : modules) {
                da[l][t.ordinal()] = grads.getOrNull(LoraConfig.aName(l, t));
                db[l][t.ordinal()] = grads.getOrNull(LoraConfig.bName(l, t));
            }
        }
    }

    /** PEFT's initialisation: A from kaiming_uniform(a = sqrt 5), i.e. U(-1/sqrt(in), 1/sqrt(in)); B zero, so training starts at the base. */
    void initialize(SplittableRandom rng) {
        for (int l = 0; l < layers; l++) {
            for (Target t : modules) {
                INDArray av = a[l][t.ordinal()];
                double bound = 1 / Math.sqrt(in[t.ordinal()]);
                double[] v = new double[(int) av.length()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (rng.nextDouble() * 2 - 1) * bound;
                }
                av.assign(Nd4j.create(v, av.shape(), DataType.DOUBLE).castTo(type));
                b[l][t.ordinal()].assign(0);
            }
        }
    }

    boolean enabled() {
        return enabled;
    }

    void setEnabled(boolean on) {
        this.enabled = on;
    }

    boolean targets(Target t) {
        return modules.contains(t);
    }

    /** {@code out += s (inp Aᵀ) Bᵀ}; with {@code keep}, {@code inp Aᵀ} is kept for the backward. */
    void forward(int layer, Target t, INDArray outArr, INDArray inp, boolean keep) {
        if (!enabled || !modules.contains(t)) {
            return;
        }
        int n = (int) inp.rows();
        ensure(n);
        int k = t.ordinal();
        INDArray u = keep ? rows(uStore[layer][k], n, lora.r()) : rows(duStore, n, lora.r());
        kernels.matmulForward(u, inp, a[layer][k], true, null);
        kernels.scale(u, lora.scale());
        INDArray tmp = rows(tmpStore, n, out[k]);
        kernels.matmulForward(tmp, u, b[layer][k], true, null);
        kernels.add(outArr, outArr, tmp);
        if (keep) {
            rowsKept[layer][k] = n;
        }
    }

    /** Given {@code dout} of the module, adds the adapter's part to {@code dinp} and its gradients to dA and dB. */
    void backward(int layer, Target t, INDArray dinp, INDArray dout, INDArray inp) {
        if (!enabled || !modules.contains(t)) {
            return;
        }
        int k = t.ordinal();
        int n = (int) inp.rows();
        if (rowsKept[layer][k] != n) {
            throw new IllegalStateException("LoRA backward without its forward");
        }
        INDArray u = rows(uStore[layer][k], n, lora.r());
        INDArray du = rows(duStore, n, lora.r());
        kernels.matmulBackward(du, db == null ? null : db[layer][k], null, dout, u, b[layer][k], true);
        kernels.scale(du, lora.scale());
        INDArray dx = rows(dxStore, n, in[k]);
        kernels.matmulBackward(dx, da == null ? null : da[layer][k], null, du, inp, a[layer][k], true);
        kernels.add(dinp, dinp, dx);
    }

    /** Adds each adapter's update {@code s Aᵀ Bᵀ} to its base weight (PEFT's merge for fan_in_fan_out). */
    void mergeInto(ParameterSet params) {
        for (int l = 0; l < layers; l++) {
            for (Target t : modules) {
                INDArray w = params.get("h." + l + "." + t.module + ".weight");
                INDArray delta = a[l][t.ordinal()].transpose().mmul(b[l][t.ordinal()].transpose()).muli(lora.scale());
                w.addi(delta);
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
        for (Target t : Target.values()) {
            maxOut = Math.max(maxOut, out[t.ordinal()]);
            maxIn = Math.max(maxIn, in[t.ordinal()]);
        }
        uStore = new INDArray[layers][Target.values().length];
        for (int l = 0; l < layers; l++) {
            for (Target t : modules) {
                uStore[l][t.ordinal()] = Nd4j.zeros(type, (long) n * lora.r());
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
