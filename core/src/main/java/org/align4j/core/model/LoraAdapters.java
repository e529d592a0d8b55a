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
 *
 * <p>PEFT's variants. Dropout ({@code lora_dropout} p): while a training step runs
 * ({@link #setDropoutSeed}), the adapter reads {@code x̃ = x ⊙ mask / (1 - p)} instead of {@code x},
 * the mask drawn from the step's seed, the module and the forward's index within the step, so a
 * resumed run draws the same masks. rsLoRA: {@code s = alpha / sqrt(r)}. DoRA
 * ({@code lora_magnitude_vector} {@code mag [out]}), as PEFT's {@code DoraLinearLayer}: with
 * {@code g = mag / ‖W + s B A‖} per output feature (the norm detached: no gradient through it),
 * {@code z = x̃ W} (no bias) and {@code l = s x̃ Aᵀ Bᵀ}, the module's output gains
 * {@code (g - 1) z + g l}, which without dropout is {@code g (x W + l) + b}. Backward:
 * {@code dmag += Σ_rows dy (z + l) / ‖·‖}, the LoRA path takes {@code g dy}, and
 * {@code dx̃ += ((g - 1) dy) Wᵀ}; dropout's mask then multiplies the adapter's share of {@code dx}.
 */
final class LoraAdapters {

    /** The frozen weight of a block's module, as the family stores it (dequantized for a quantized base). */
    interface Weights {
        INDArray weight(int layer, int module);
    }

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
    private final Weights weights;
    /** DoRA's magnitudes {@code [out]} and their gradients. */
    private final INDArray[][] mag;
    private INDArray[][] dmag;
    /** DoRA: per module, {@code g} and the norm of the last forward that kept its activations. */
    private final INDArray[][] gKept;
    private final INDArray[][] normKept;
    /** DoRA: {@code z + l} of the last kept forward, for the magnitude's gradient. */
    private INDArray[][] zlStore;
    private INDArray zStore;
    private INDArray dyStore;
    private INDArray xdStore;
    private INDArray dxdStore;
    /** Dropout: the scaled masks of the last kept forward; null while no training step runs. */
    private INDArray[][] maskStore;
    private final boolean[][] maskKept;
    private Long dropoutSeed;
    private boolean dropoutPaused;
    /** A block's forward run again for the backward (activation recomputation): reuse what the first run drew. */
    private boolean replay;
    /** DoRA's norms held constant (null: computed at every forward, as in training). */
    private INDArray[][] heldNorms;
    private final int[][] forwardsInStep;

    LoraAdapters(BlockLayout blocks, LoraConfig lora, ParameterSet params, Kernels kernels, Weights weights) {
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
        this.weights = weights;
        this.a = new INDArray[layers][n];
        this.b = new INDArray[layers][n];
        this.mag = new INDArray[layers][n];
        this.gKept = new INDArray[layers][n];
        this.normKept = new INDArray[layers][n];
        this.rowsKept = new int[layers][n];
        this.maskKept = new boolean[layers][n];
        this.forwardsInStep = new int[layers][n];
        for (int l = 0; l < layers; l++) {
            for (int m = 0; m < n; m++) {
                if (selected[m]) {
                    a[l][m] = params.get(aName(blockPrefix, l, candidates.get(m)));
                    b[l][m] = params.get(bName(blockPrefix, l, candidates.get(m)));
                    if (lora.dora()) {
                        mag[l][m] = params.get(magnitudeName(blockPrefix, l, candidates.get(m)));
                    }
                }
            }
        }
    }

    /** DoRA's magnitude, PEFT's name in its saved adapters ({@code ...c_attn.lora_magnitude_vector}, {@code [out]}). */
    static String magnitudeName(IntFunction<String> blockPrefix, int layer, LoraConfig.Module m) {
        return blockPrefix.apply(layer) + m.name() + ".lora_magnitude_vector";
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
                if (lora.dora()) {
                    s.add(new ParameterSet.Spec(magnitudeName(blocks.prefix(), l, m), new long[] {m.out()}, false));
                }
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
        dmag = new INDArray[layers][n];
        for (int l = 0; l < layers; l++) {
            for (int m = 0; m < n; m++) {
                if (selected[m]) {
                    da[l][m] = grads.getOrNull(aName(blockPrefix, l, candidates.get(m)));
                    db[l][m] = grads.getOrNull(bName(blockPrefix, l, candidates.get(m)));
                    if (lora.dora()) {
                        dmag[l][m] = grads.getOrNull(magnitudeName(blockPrefix, l, candidates.get(m)));
                    }
                }
            }
        }
    }

    /**
     * PEFT's initialisation: A from kaiming_uniform(a = sqrt 5), i.e. U(-1/sqrt(in), 1/sqrt(in)); B
     * zero, so training starts at the base; DoRA's magnitude is the norm of each output feature's
     * weight, so that too starts at the base. Needs the base weights in place.
     */
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
                if (lora.dora()) {
                    mag[l][m].assign(weightNorm(l, m));
                }
            }
        }
    }

    /**
     * Starts (a seed) or ends (null) a training step's dropout: while set, forwards that keep their
     * activations drop the adapters' inputs with masks drawn from the seed, the module and the
     * forward's index since the seed was set; cached decoding and forwards outside a step never drop.
     */
    void setDropoutSeed(Long seed) {
        this.dropoutSeed = lora.dropout() > 0 ? seed : null;
        this.dropoutPaused = false;
        for (int[] f : forwardsInStep) {
            Arrays.fill(f, 0);
        }
    }

    /**
     * Pauses a step's dropout (a phase of the step that only reads the model: PPO's rollout, its
     * old log-probabilities and values) or resumes it; the masks drawn after resuming continue the
     * step's sequence. Setting the seed resumes too.
     */
    void pauseDropout(boolean paused) {
        this.dropoutPaused = paused;
    }

    /**
     * {@code ‖W + s B A‖} per output feature {@code [out]}: rows of a Linear {@code [out, in]}
     * weight, columns of a Conv1D {@code [in, out]} one (PEFT's {@code get_weight_norm} after its
     * {@code fan_in_fan_out} transpose).
     */
    private INDArray weightNorm(int l, int m) {
        if (heldNorms != null && heldNorms[l][m] != null) {
            return heldNorms[l][m];
        }
        INDArray w = weights.weight(l, m);
        INDArray ba = b[l][m].mmul(a[l][m]).muli(lora.scale());
        INDArray full = linear ? ba.addi(w) : ba.addi(w.transpose());
        INDArray norm = full.norm2(1);
        if (heldNorms != null) {
            heldNorms[l][m] = norm;
        }
        return norm;
    }

    /**
     * Holds DoRA's norms at the values the next forward computes, or (false) computes them afresh
     * each forward again. The norm is detached in training (no gradient flows through it), so the
     * gradient the backward computes is the derivative with the norms held: what a finite-difference
     * check must hold them for.
     */
    void holdNorms(boolean hold) {
        heldNorms = hold ? new INDArray[layers][candidates.size()] : null;
    }

    boolean enabled() {
        return enabled;
    }

    /**
     * While on, a forward that keeps its activations is the backward's second run of a block
     * (activation recomputation): it applies the dropout mask the first run kept rather than
     * drawing the step's next one, and DoRA's scale of the first run rather than the norm again,
     * so that the recomputed activations and the gradients equal those without recomputation.
     */
    void setReplay(boolean on) {
        this.replay = on;
    }

    void setEnabled(boolean on) {
        this.enabled = on;
    }

    /** Module {@code m}'s adapter output added to {@code outArr}; with {@code keep}, what the backward needs is kept. */
    void forward(int layer, int m, INDArray outArr, INDArray inp, boolean keep) {
        if (!enabled || !selected[m]) {
            return;
        }
        int n = (int) inp.rows();
        ensure(n);
        LoraConfig.Module mod = candidates.get(m);
        INDArray x = inp;
        boolean replaying = keep && replay;
        if (replaying) {
            if (rowsKept[layer][m] != n) {
                throw new IllegalStateException("LoRA replay without its first forward");
            }
            if (maskKept[layer][m]) {
                x = rows(xdStore, n, mod.in());
                x.assign(inp).muli(rows(maskStore[layer][m], n, mod.in()));
            }
        } else {
            maskKept[layer][m] = false;
        }
        if (!replaying && keep && dropoutSeed != null && !dropoutPaused) {
            INDArray mask = rows(maskStore[layer][m], n, mod.in());
            drawMask(mask, layer, m, forwardsInStep[layer][m]++);
            x = rows(xdStore, n, mod.in());
            x.assign(inp).muli(mask);
            maskKept[layer][m] = true;
        }
        INDArray u = keep ? rows(uStore[layer][m], n, lora.r()) : rows(duStore, n, lora.r());
        kernels.matmulForward(u, x, a[layer][m], true, null);
        kernels.scale(u, lora.scale());
        INDArray tmp = keep && lora.dora() ? rows(zlStore[layer][m], n, mod.out()) : rows(tmpStore, n, mod.out());
        kernels.matmulForward(tmp, u, b[layer][m], true, null);
        if (!lora.dora()) {
            kernels.add(outArr, outArr, tmp);
        } else {
            // out += g (z + l) - z, i.e. (g - 1) z + g l
            INDArray norm = replaying ? normKept[layer][m] : weightNorm(layer, m);
            INDArray g = replaying ? gKept[layer][m] : mag[layer][m].div(norm);
            INDArray z = rows(zStore, n, mod.out());
            kernels.matmulForward(z, x, weights.weight(layer, m), linear, null);
            tmp.addi(z);
            outArr.addi(tmp.mulRowVector(g)).subi(z);
            if (keep) {
                gKept[layer][m] = g;
                normKept[layer][m] = norm;
            }
        }
        if (keep) {
            rowsKept[layer][m] = n;
        }
    }

    /** Given {@code dout} of the module, adds the adapter's part to {@code dinp} and its gradients to its tensors'. */
    void backward(int layer, int m, INDArray dinp, INDArray dout, INDArray inp) {
        if (!enabled || !selected[m]) {
            return;
        }
        int n = (int) inp.rows();
        if (rowsKept[layer][m] != n) {
            throw new IllegalStateException("LoRA backward without its forward");
        }
        LoraConfig.Module mod = candidates.get(m);
        INDArray x = inp;
        INDArray mask = null;
        if (maskKept[layer][m]) {
            mask = rows(maskStore[layer][m], n, mod.in());
            x = rows(xdStore, n, mod.in());
            x.assign(inp).muli(mask);
        }
        INDArray dy = dout;
        INDArray dxd = null;
        if (lora.dora()) {
            INDArray g = gKept[layer][m];
            if (dmag != null && dmag[layer][m] != null) {
                INDArray zl = rows(zlStore[layer][m], n, mod.out());
                dmag[layer][m].addi(dout.mul(zl).sum(0).divi(normKept[layer][m]));
            }
            dy = rows(dyStore, n, mod.out());
            dy.assign(dout).muliRowVector(g);
            // dz = (g - 1) dy = g dy - dy, through the frozen weight to the adapter's input
            INDArray dz = rows(zStore, n, mod.out());
            dz.assign(dy).subi(dout);
            dxd = rows(dxdStore, n, mod.in());
            kernels.matmulBackward(dxd, null, null, dz, x, weights.weight(layer, m), linear);
        }
        INDArray u = rows(uStore[layer][m], n, lora.r());
        INDArray du = rows(duStore, n, lora.r());
        kernels.matmulBackward(du, db == null ? null : db[layer][m], null, dy, u, b[layer][m], true);
        kernels.scale(du, lora.scale());
        INDArray dx = rows(dxStore, n, mod.in());
        kernels.matmulBackward(dx, da == null ? null : da[layer][m], null, du, x, a[layer][m], true);
        if (dxd != null) {
            kernels.add(dx, dx, dxd);
        }
        if (mask != null) {
            dx.muli(mask);
        }
        kernels.add(dinp, dinp, dx);
    }

    /** Inverted dropout's mask: 0 with probability p, else 1 / (1 - p), from the step's seed, the module and the forward's index. */
    private void drawMask(INDArray mask, int layer, int m, int forward) {
        double p = lora.dropout();
        long seed = dropoutSeed;
        seed = seed * 0x9E3779B97F4A7C15L + layer;
        seed = seed * 0x9E3779B97F4A7C15L + m;
        seed = seed * 0x9E3779B97F4A7C15L + forward;
        SplittableRandom rng = new SplittableRandom(seed);
        double keep = 1 / (1 - p);
        double[] v = new double[(int) mask.length()];
        for (int i = 0; i < v.length; i++) {
            v[i] = rng.nextDouble() < p ? 0 : keep;
        }
        mask.assign(Nd4j.create(v, mask.shape(), DataType.DOUBLE).castTo(type));
    }

    /**
     * Adds each adapter's update to its base weight, PEFT's merge: {@code W += s B A} for a
     * {@code Linear [out, in]} weight, {@code W += s Aᵀ Bᵀ} for a Conv1D {@code [in, out]} one
     * ({@code fan_in_fan_out}); DoRA then scales each output feature (a row of a Linear weight, a
     * column of a Conv1D one) by {@code mag / ‖W + s B A‖}.
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
                INDArray g = lora.dora() ? mag[l][m].div(weightNorm(l, m)) : null;
                w.addi(delta.muli(lora.scale()));
                if (g != null) {
                    if (linear) {
                        w.muliColumnVector(g.reshape(g.length(), 1));
                    } else {
                        w.muliRowVector(g);
                    }
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
        uStore = new INDArray[layers][candidates.size()];
        zlStore = new INDArray[layers][candidates.size()];
        maskStore = new INDArray[layers][candidates.size()];
        for (int l = 0; l < layers; l++) {
            for (int m = 0; m < candidates.size(); m++) {
                if (selected[m]) {
                    uStore[l][m] = Nd4j.zeros(type, (long) n * lora.r());
                    if (lora.dora()) {
                        zlStore[l][m] = Nd4j.zeros(type, n * candidates.get(m).out());
                    }
                    if (lora.dropout() > 0) {
                        maskStore[l][m] = Nd4j.zeros(type, n * candidates.get(m).in());
                    }
                }
            }
        }
        tmpStore = Nd4j.zeros(type, n * maxOut);
        duStore = Nd4j.zeros(type, (long) n * lora.r());
        dxStore = Nd4j.zeros(type, n * maxIn);
        if (lora.dora()) {
            zStore = Nd4j.zeros(type, n * maxOut);
            dyStore = Nd4j.zeros(type, n * maxOut);
            dxdStore = Nd4j.zeros(type, n * maxIn);
        }
        if (lora.dropout() > 0) {
            xdStore = Nd4j.zeros(type, n * maxIn);
        }
        for (int[] r : rowsKept) {
            Arrays.fill(r, -1);
        }
    }

    /** The first {@code n * cols} elements of a flat store as a contiguous {@code [n, cols]} matrix. */
    private static INDArray rows(INDArray store, int n, long cols) {
        return store.get(NDArrayIndex.interval(0, n * cols)).reshape(n, cols);
    }
}
