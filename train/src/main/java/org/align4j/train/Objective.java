package org.align4j.train;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.model.DecoderModel;
import org.align4j.core.run.RunDirectory;
import org.align4j.train.scale.Replica;

/**
 * What a stage gives the {@link TrainingLoop}: the models it trains, its data, and the loss of a
 * micro-batch with its gradient. Everything else (order of the data, accumulation, clipping,
 * schedule, metrics, evaluation cadence, checkpoints, resume, cancel) is the loop's.
 */
public interface Objective {

    /** A model the stage trains; the first one is the run's model ({@code best/}, {@code final/}). */
    record Trainee(String name, DecoderModel model, Path source) {
    }

    /** The validation metric that picks {@code best/} and drives early stopping, and its direction. */
    record BestMetric(String name, boolean higherIsBetter) {
        public boolean improves(double candidate, Double best) {
            return Double.isFinite(candidate) && (best == null || (higherIsBetter ? candidate > best : candidate < best));
        }
    }

    /** A prepared micro-batch: the weight it stands for in the step's mean, and its input tokens. */
    interface MicroBatch {
        double weight();

        long inputTokens();
    }

    /**
     * The loop's update for a stage that owns its step: zero the trainees' gradients, or clip them
     * (each model by its own norm), stop on a non-finite norm naming the last good checkpoint, and
     * apply AdamW at the step's scheduled learning rate.
     */
    interface Updater {
        void zeroGradients();

        /** Applies one update; returns the first trainee's gradient norm before clipping. */
        double apply();

        /**
         * Replaces the trainees' gradients with the sum of what {@code work} adds for each of
         * {@code shards}, in order, and adds the shards' metrics to {@code metrics}: in one process on
         * this objective, one shard after another; with {@code --spark-master}, on the executors'
         * replicas ({@link #replica()}) holding the current weights, summed on the driver in shard order.
         */
        <S extends Serializable> void gradients(List<S> shards, ShardWork<S> work, Metrics metrics);

        /** How many shards spread a gradient over the executors: 1 in one process. */
        int shards();

        /**
         * {@code work}'s results for {@code items}, in order, reading the trainees as they are now: in
         * one process one call on this objective with every item; with {@code --spark-master} the
         * items cut into runs of consecutive ones, each on an executor's replica holding the current
         * weights (PPO's rollouts). The work must give an item's result whatever run it is in.
         */
        <I extends Serializable, O extends Serializable> List<O> map(List<I> items, ReplicaWork<I, O> work);
    }

    /** Work that reads an objective's models without training them (PPO's rollouts): one result per item. */
    @FunctionalInterface
    interface ReplicaWork<I, O> extends Serializable {
        List<O> run(Objective objective, List<I> items) throws Exception;
    }

    /**
     * A part of a stage's own gradient (PPO: some responses of a mini-batch): adds its gradient to
     * {@code objective}'s trainees and its metrics. It travels to executors, so it names a static
     * method or a small record, and reads only the shard and the objective it is given.
     */
    @FunctionalInterface
    interface ShardWork<S> extends Serializable {
        void run(Objective objective, S shard, Metrics metrics) throws Exception;
    }

    List<Trainee> trainees();

    /** Length in tokens of every training example (the data order groups similar lengths). */
    int[] trainLengths();

    /** Whether batches group examples of similar length (false for packed sequences). */
    default boolean groupByLength() {
        return true;
    }

    /** The micro-batch of these training examples. */
    MicroBatch prepare(int[] examples);

    /**
     * Forward and backward of a micro-batch: accumulates {@code scale · Σ loss} into the
     * trainees' gradients ({@code scale} is one over the step's total weight, so the step's
     * gradient is that of the weighted mean) and adds the micro-batch's metrics.
     */
    void forwardBackward(MicroBatch batch, double scale, Metrics metrics);

    /**
     * Whether the stage runs its own step ({@link #step}): PPO's iteration is a rollout followed by
     * several updates. Other stages give the loop one accumulated update per step.
     */
    default boolean ownsStep() {
        return false;
    }

    /** One step of a stage that {@link #ownsStep() owns it}: its passes and updates, through {@code updater}. */
    default void step(List<MicroBatch> batches, Updater updater, Metrics metrics) {
        throw new IllegalStateException(getClass().getSimpleName() + " gives the loop one update per step");
    }

    /**
     * How an executor rebuilds this objective to compute micro-batches of data-parallel steps
     * ({@code --spark-master}); null when the stage cannot train so. The replica's
     * {@link #prepare} and {@link #forwardBackward} must give what this objective's give for the
     * same examples and weights: anything they read beyond the settings and the training data
     * (DPO's cached reference log-probabilities) travels in the replica.
     */
    default Replica replica() {
        return null;
    }

    /** Whether there is validation data. */
    boolean hasValidation();

    /** Validation metrics (names without the {@code val_} prefix the loop adds). */
    Map<String, Double> evaluate() throws IOException;

    BestMetric bestMetric();

    /** State the stage must checkpoint beyond the models and the data position (null: none). */
    default JsonNode state() {
        return null;
    }

    default void restore(JsonNode state) {
    }

    /** After {@code final/} is written and before the run is marked succeeded. */
    default void finish(RunDirectory run, PrintStream log) throws IOException {
    }
}
