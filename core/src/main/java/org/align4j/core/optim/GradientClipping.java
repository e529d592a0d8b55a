package org.align4j.core.optim;

import org.align4j.core.model.ParameterSet;

/** Global-norm clipping as {@code torch.nn.utils.clip_grad_norm_}. */
public final class GradientClipping {

    private GradientClipping() {
    }

    /** Scales {@code grads} so their global L2 norm is at most {@code maxNorm}; returns the norm before clipping. */
    public static double clip(ParameterSet grads, double maxNorm) {
        double norm = grads.flat().norm2Number().doubleValue();
        if (maxNorm > 0) {
            double coef = maxNorm / (norm + 1e-6);
            if (coef < 1) {
                grads.flat().muli(coef);
            }
        }
        return norm;
    }
}
