package org.align4j.train.scale;

import java.io.PrintStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.align4j.core.backend.Backend;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.util.UserInputException;
import org.align4j.train.Metrics;
import org.align4j.train.Objective;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The driver's side of a data-parallel step. The driver keeps the weights and the optimizer; each
 * step it shares the trainees' trainable weights (one broadcast, read once per executor JVM), cuts
 * the step's micro-batches into {@code slices} runs of consecutive ones, and each executor
 * accumulates the gradient of its run on its replica of the stage's objective exactly as the one
 * process accumulates all of them. The driver then sums the slices' gradients in slice order, so
 * the sum follows the micro-batch order and a rerun with the same slices is bit-identical; the
 * loop clips and applies AdamW as without a cluster. With one slice the gradient is the single
 * process's, bit for bit; with more, the partial sums round differently (about 1e-7 relative).
 * Weights and gradients travel as {@link RawFloats}: one memory copy out of ND4J's buffer, Java
 * serialisation of whole byte blocks, one copy in.
 */
public final class DataParallel implements AutoCloseable {

    private final ScaleOut scale;
    private final String runKey = UUID.randomUUID().toString();
    private final Replica replica;
    private final Cluster.Shared<Cluster.Shipped> files;
    private final List<StepTiming> timings = new ArrayList<>();
    /** Counts the weights shared so far: a replica reloads when its version is older. */
    private long version;
    /**
     * The weights the step's first {@link #map} shared, read by its later maps too (PPO's rollout and
     * its passes: one broadcast, one load per replica), until {@link #endMaps}: the weights change only
     * after a gradient, and the loop ends the maps with every step.
     */
    private Cluster.Shared<RawFloats[]> mapped;
    /** Per trainee, where a later slice's gradient lands before it is added (allocated once, not per step). */
    private final List<INDArray> scratch = new ArrayList<>();

    /**
     * Where a step's time went, in nanoseconds: on the driver, the weights to an array and a broadcast
     * ({@code serialise}), the Spark job ({@code job}) and the ordered sum ({@code reduce}); on the
     * executors, summed over slices, reading the weights into the replica ({@code load}: the broadcast's
     * transfer and the copy) and the forward and backward ({@code compute}). The job's time beyond load
     * and compute is Spark's: scheduling, task and result transfer.
     */
    public record StepTiming(long serialise, long job, long load, long compute, long reduce, long weightBytes,
                             long gradientBytes, int slices) {
    }

    private DataParallel(ScaleOut scale, Replica replica) {
        this.scale = scale;
        this.replica = replica;
        this.files = scale.cluster().ship(replica.files());
    }

    /**
     * Starts data-parallel steps for {@code objective}, refusing (before any step) a stage that cannot
     * run so: one without a replica, or a run drawing LoRA dropout masks per forward of a step.
     */
    public static DataParallel start(ScaleOut scale, Objective objective, double loraDropout, PrintStream log) {
        Replica r = objective.replica();
        if (r == null) {
            throw new UserInputException("--spark-master: this stage does not train data-parallel yet; run it without"
                    + " --spark-master");
        }
        if (loraDropout > 0) {
            throw new UserInputException("--spark-master with --lora-dropout " + loraDropout + ": dropout masks are"
                    + " drawn per forward of a step in one process; data-parallel steps need --lora-dropout 0");
        }
        log.printf("data-parallel on %s: each step's micro-batches in %d slice(s), gradients summed in order%n",
                scale.cluster().master(), scale.slices());
        return new DataParallel(scale, r);
    }

    /** The timing of the last step (null before the first). */
    public StepTiming lastTiming() {
        return timings.isEmpty() ? null : timings.get(timings.size() - 1);
    }

    /** The timing of every step this driver ran, in order. */
    public List<StepTiming> timings() {
        return List.copyOf(timings);
    }

    /**
     * Computes the gradient of the step whose micro-batches are {@code batches} (each a list of
     * training examples, in the step's order) into the {@code models}' gradient buffers, scaled by
     * {@code scale}, and adds the micro-batches' metrics to {@code metrics}.
     */
    public void step(List<DecoderModel> models, List<int[]> batches, double scale, Long dropoutSeed,
                     Metrics metrics) {
        gradients(models, batches, new MicroBatches(scale), dropoutSeed, metrics);
    }

    /**
     * Computes into the {@code models}' gradient buffers (replacing what they held) the sum of the
     * gradients {@code work} gives for each of {@code shards}, in order, each shard's work running on
     * an executor's replica holding the models' current weights; adds the shards' metrics to
     * {@code metrics}. Consecutive shards share a slice (one task), accumulating in one replica as the
     * single process does.
     */
    public <S extends Serializable> void gradients(List<DecoderModel> models, List<S> shards,
                                                   Objective.ShardWork<S> work, Long dropoutSeed, Metrics metrics) {
        endMaps(); // the update that follows changes the weights the maps read
        long t0 = System.nanoTime();
        long weightBytes = 0;
        for (DecoderModel m : models) {
            weightBytes += 4L * m.trainableParameterCount();
        }
        Cluster.Shared<RawFloats[]> shared = share(models);
        long t1 = System.nanoTime();
        List<Slice<S>> slices = new ArrayList<>();
        int[] bounds = Cluster.sliceBounds(shards.size(), this.scale.slices());
        for (int s = 0; s + 1 < bounds.length; s++) {
            slices.add(new Slice<>(new ArrayList<>(shards.subList(bounds[s], bounds[s + 1]))));
        }
        List<SliceResult> results;
        try {
            results = this.scale.cluster().mapInOrder(slices, slices.size(), Map.of(),
                    new StepWork<>(runKey, version, replica, files, shared, work, dropoutSeed));
        } finally {
            shared.close();
        }
        long t2 = System.nanoTime();
        long compute = 0;
        long load = 0;
        long gradientBytes = 0;
        for (int i = 0; i < models.size(); i++) {
            // in slice order: the first slice's gradient as it came, each later one added to it
            INDArray g = models.get(i).gradients().flat();
            if (results.isEmpty()) {
                g.assign(0);
            }
            for (int s = 0; s < results.size(); s++) {
                RawFloats part = results.get(s).gradients()[i];
                if (s == 0) {
                    part.copyTo(g);
                } else {
                    INDArray add = scratch(i, g);
                    part.copyTo(add);
                    g.addi(add);
                }
                gradientBytes += part.bytes();
            }
        }
        for (SliceResult r : results) {
            metrics.addAll(r.metrics());
            compute += r.computeNanos();
            load += r.loadNanos();
        }
        long t3 = System.nanoTime();
        timings.add(new StepTiming(t1 - t0, t2 - t1, load, compute, t3 - t2, weightBytes, gradientBytes, results.size()));
    }

    /**
     * {@code work}'s results for {@code items}, in order: the items cut into runs of consecutive ones,
     * each run on an executor's replica holding the {@code models}' current weights. The step's first
     * map shares the weights; its later maps, until {@link #endMaps} or a gradient, reuse them.
     */
    public <I extends Serializable, O extends Serializable> List<O> map(List<DecoderModel> models, List<I> items,
                                                                        Objective.ReplicaWork<I, O> work) {
        if (mapped == null) {
            mapped = share(models);
        }
        return scale.cluster().mapInOrder(items, scale.slices(), Map.of(),
                new MapWork<>(runKey, version, replica, files, mapped, work));
    }

    /** Frees the weights the step's maps shared: the step is over (the loop calls it) or its weights will change. */
    public void endMaps() {
        if (mapped != null) {
            mapped.close();
            mapped = null;
        }
    }

    /** The driver's buffer for trainee {@code i}'s incoming gradients, shaped like {@code g}. */
    private INDArray scratch(int i, INDArray g) {
        while (scratch.size() <= i) {
            scratch.add(null);
        }
        INDArray s = scratch.get(i);
        if (s == null || s.length() != g.length()) {
            s = g.ulike();
            scratch.set(i, s);
        }
        return s;
    }

    /** Shares the models' trainable weights as a new version. */
    private Cluster.Shared<RawFloats[]> share(List<DecoderModel> models) {
        RawFloats[] weights = new RawFloats[models.size()];
        for (int i = 0; i < models.size(); i++) {
            weights[i] = RawFloats.of(models.get(i).trainableParameters().flat());
        }
        version++;
        return scale.cluster().share(weights);
    }

    /** The replica of {@code runKey} in this JVM, holding the weights of {@code version}. */
    private static Objective replicaWith(String runKey, long version, Replica replica,
                                         Cluster.Shared<Cluster.Shipped> files, Cluster.Shared<RawFloats[]> weights)
            throws Exception {
        Replicas.Held held = Replicas.get(runKey, () -> replica.build(files.value(), Backend.get().kernels()));
        if (held.version() != version) {
            RawFloats[] w = weights.value();
            List<Objective.Trainee> trainees = held.objective().trainees();
            for (int i = 0; i < trainees.size(); i++) {
                w[i].copyTo(trainees.get(i).model().trainableParameters().flat());
            }
            held.loaded(version);
        }
        return held.objective();
    }

    /** A task of {@link #map}: the items of one run, on the replica with the shared weights. */
    record MapWork<I, O>(String runKey, long version, Replica replica, Cluster.Shared<Cluster.Shipped> files,
                         Cluster.Shared<RawFloats[]> weights, Objective.ReplicaWork<I, O> work)
            implements Cluster.SliceWork<I, O> {
        @Override
        public List<O> run(List<I> slice, Cluster.Shipped unused) throws Exception {
            return work.run(replicaWith(runKey, version, replica, files, weights), slice);
        }
    }

    /** How many slices a step's work is cut into: a stage that cuts its own work makes this many shards. */
    public int slices() {
        return scale.slices();
    }

    /** The loop's work: a micro-batch of examples, prepared and run forward and backward by the stage. */
    private record MicroBatches(double scale) implements Objective.ShardWork<int[]> {
        @Override
        public void run(Objective objective, int[] examples, Metrics metrics) {
            Objective.MicroBatch mb = objective.prepare(examples);
            if (mb.weight() > 0) {
                objective.forwardBackward(mb, scale, metrics);
            }
        }
    }

    @Override
    public void close() {
        endMaps();
        files.close();
    }

    /** The shards of one slice. */
    record Slice<S>(ArrayList<S> shards) implements Serializable {
    }

    /** A slice's summed gradient per trainee, its metrics, and how long its forward and backward took. */
    record SliceResult(RawFloats[] gradients, Metrics metrics, long loadNanos, long computeNanos) implements Serializable {
    }

    /**
     * What a task needs for its slice: the run (its replica, cached in the executor JVM under
     * {@code runKey}), the shared weights of {@code version}, the work, and the step's dropout seed.
     */
    record StepWork<S>(String runKey, long version, Replica replica, Cluster.Shared<Cluster.Shipped> files,
                       Cluster.Shared<RawFloats[]> weights, Objective.ShardWork<S> work, Long dropoutSeed)
            implements Cluster.SliceWork<Slice<S>, SliceResult> {

        @Override
        public List<SliceResult> run(List<Slice<S>> slice, Cluster.Shipped unused) throws Exception {
            long loadStart = System.nanoTime();
            Objective objective = replicaWith(runKey, version, replica, files, weights);
            long load = System.nanoTime() - loadStart;
            List<DecoderModel> models = objective.trainees().stream().map(Objective.Trainee::model).toList();
            List<SliceResult> out = new ArrayList<>();
            for (Slice<S> s : slice) {
                long t0 = System.nanoTime();
                Metrics metrics = new Metrics();
                for (DecoderModel m : models) {
                    m.zeroGradients();
                    m.setAdapterDropoutSeed(dropoutSeed);
                }
                try {
                    for (S shard : s.shards()) {
                        work.run(objective, shard, metrics);
                    }
                } finally {
                    for (DecoderModel m : models) {
                        m.setAdapterDropoutSeed(null);
                    }
                }
                RawFloats[] grads = new RawFloats[models.size()];
                for (int i = 0; i < models.size(); i++) {
                    grads[i] = RawFloats.of(models.get(i).gradients().flat());
                }
                out.add(new SliceResult(grads, metrics, out.isEmpty() ? load : 0, System.nanoTime() - t0));
            }
            return out;
        }
    }
}
