package org.align4j.train.scale;

/**
 * Where a training run computes its steps' micro-batches when asked to scale out: on
 * {@code cluster}'s executors, cut into {@code slices} runs of consecutive micro-batches (one Spark
 * task each). The result does not depend on where it runs beyond float rounding of the sum of the
 * slices' gradients, which is fixed for a given {@code slices}.
 */
public record ScaleOut(Cluster cluster, int slices) {

    public ScaleOut {
        if (slices < 1) {
            throw new IllegalArgumentException("slices must be at least 1, got " + slices);
        }
    }
}
