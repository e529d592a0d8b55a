package org.align4j.core.optim;

import org.align4j.core.model.ParameterSet;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.updaters.AdamUpdater;
import org.nd4j.linalg.factory.Nd4j;

/**
 * AdamW with decoupled weight decay (Loshchilov and Hutter) over the flat parameter buffer,
 * exactly as {@code torch.optim.AdamW}: {@code p -= lr * wd * p} on decayed tensors, then the
 * bias-corrected Adam step. Weight decay skips biases and LayerNorm gains
 * ({@link ParameterSet.Spec#decay()}).
 *
 * <p>The moment update is ND4J's fused {@code adam_updater} op (one pass, runs on every backend).
 * That op adds epsilon to {@code sqrt(v)} before bias correction where PyTorch adds it after;
 * passing {@code eps * sqrt(1 - beta2^t)} makes the two identical.
 */
public final class AdamW {

    private final AdamWConfig config;
    private final ParameterSet params;
    private final INDArray m;
    private final INDArray v;
    private final INDArray decayMask;
    private final INDArray scratch;
    private long step;

    public AdamW(ParameterSet params, AdamWConfig config) {
        this.config = config;
        this.params = params;
        INDArray flat = params.flat();
        this.m = Nd4j.zeros(flat.dataType(), flat.length());
        this.v = Nd4j.zeros(flat.dataType(), flat.length());
        this.decayMask = params.decayMask();
        this.scratch = flat.ulike();
    }

    /** Applies one update with learning rate {@code lr}; {@code grads} has the parameters' layout and is consumed. */
    public void step(ParameterSet grads, double lr) {
        INDArray p = params.flat();
        INDArray g = grads.flat();
        step++;
        double bc2 = 1 - Math.pow(config.beta2(), step);
        // g becomes the update lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps)
        Nd4j.exec(new AdamUpdater(g, v, m, lr, config.beta1(), config.beta2(), config.eps() * Math.sqrt(bc2),
                (int) (step - 1)));
        if (config.weightDecay() > 0) {
            scratch.assign(p).muli(decayMask).muli(lr * config.weightDecay());
            p.subi(scratch);
        }
        p.subi(g);
    }

    public long stepCount() {
        return step;
    }

    public AdamWConfig config() {
        return config;
    }

    /** First and second moments, for checkpoints. */
    public INDArray firstMoment() {
        return m;
    }

    public INDArray secondMoment() {
        return v;
    }

    /** Restores the step count (moments are restored into {@link #firstMoment()} / {@link #secondMoment()}). */
    public void restoreStep(long stepCount) {
        this.step = stepCount;
    }
}
