package org.align4j.train.scale;

import java.io.Serializable;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The scale-out seam: somewhere batch work runs in parallel slices (Spark executors in the
 * {@code cluster} module). Nothing outside that module knows which engine it is; a command gets one
 * through {@link Clusters#connect} only when the user asked for it.
 */
public interface Cluster {

    /** The master URL this cluster was reached by. */
    String master();

    /** How many slices run at once by default (the cores the cluster offers). */
    int defaultParallelism();

    /**
     * Runs {@code work} over {@code items} cut into {@code slices} runs of consecutive items (the first
     * slices one item longer when they do not divide evenly) and returns the results of every item in
     * input order, whichever executor ran which slice. The files and directories in {@code shipped}
     * travel to the executors once for the whole job; there {@code work} finds its copies through
     * {@link Shipped#path}. A slice's items run one after another in one task.
     */
    <I extends Serializable, O extends Serializable> List<O> mapInOrder(List<I> items, int slices,
                                                                        Map<String, Path> shipped,
                                                                        SliceWork<I, O> work);

    /**
     * Sends {@code value} to every executor once (Spark: a broadcast), for any number of later jobs
     * whose work holds the handle, until it is closed. A training run shares its step's weights so.
     */
    <T extends Serializable> Shared<T> share(T value);

    /**
     * Ships files as {@code mapInOrder}'s {@code shipped} does, but once for any number of later jobs
     * (a training run's model and data, every step): an executor reads the bytes only when its work
     * first asks for a path.
     */
    Shared<Shipped> ship(Map<String, Path> shipped);

    /** A value every executor can read, held for several jobs; the handle itself travels with the work. */
    interface Shared<T> extends Serializable, AutoCloseable {
        /** The value, on the driver or an executor. */
        T value();

        /** Frees the copies on the executors; the handle must not be used afterwards. */
        @Override
        void close();
    }

    /** The work of one slice: its items in order, one result per item. */
    @FunctionalInterface
    interface SliceWork<I, O> extends Serializable {
        List<O> run(List<I> slice, Shipped files) throws Exception;
    }

    /** The shipped files as the executor running a slice sees them. */
    interface Shipped {
        /** The local copy of the file or directory shipped under {@code name}; null if none was. */
        Path path(String name);
    }

    /** Cuts {@code n} items into {@code slices} consecutive runs: the start of each run and {@code n} last. */
    static int[] sliceBounds(int n, int slices) {
        int k = Math.max(1, Math.min(slices, Math.max(1, n)));
        int[] bounds = new int[k + 1];
        for (int s = 0; s < k; s++) {
            bounds[s + 1] = bounds[s] + n / k + (s < n % k ? 1 : 0);
        }
        return bounds;
    }
}
