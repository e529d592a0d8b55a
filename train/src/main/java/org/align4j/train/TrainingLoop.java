package org.align4j.train;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.model.DecoderModel;
import org.align4j.core.optim.AdamW;
import org.align4j.core.optim.AdamWConfig;
import org.align4j.core.optim.GradientClipping;
import org.align4j.core.optim.LrSchedule;
import org.align4j.core.output.CreatedPaths;
import org.align4j.core.output.WriterLock;
import org.align4j.core.run.Checkpoints;
import org.align4j.core.run.RunDirectory;
import org.align4j.core.util.Json;
import org.align4j.data.batch.BatchPlan;
import org.align4j.train.scale.DataParallel;
import org.align4j.train.scale.ScaleOut;

/**
 * The one training loop every stage runs on. A step takes {@code grad_accum} micro-batches in
 * the seeded data order, accumulates the gradient of their weighted mean, clips it, and applies
 * AdamW at the scheduled learning rate; it stops on a non-finite loss or gradient naming the last
 * good checkpoint. Around the steps: metric rows in {@code metrics.jsonl}, evaluation every
 * {@code eval_every} steps with {@code best/} and early stopping by the stage's metric,
 * checkpoints every {@code save_every} steps (the newest {@code keep_last} kept), cancellation
 * through {@code runs cancel}, exact resume, {@code final/}, events and progress.
 *
 * <p>Resuming continues from the newest checkpoint exactly as if the run had not stopped: the
 * weights, optimizer moments and step, the data position, the best value and the stage's state
 * are restored, and metric rows written after the checkpoint are dropped before they are written
 * again. A run that crashed before its first checkpoint starts again from step 0, with the rows of
 * the lost attempt removed.
 */
public final class TrainingLoop {

    /** Builds the stage's objective (loads models and data); called once the run directory is checked. */
    @FunctionalInterface
    public interface ObjectiveFactory {
        Objective create() throws IOException;
    }

    private final TrainingOptions opts;
    private final ObjectNode config;
    private final PrintStream log;
    /** Set once a step has run: a run that fails before that leaves nothing behind. */
    private boolean stepped;
    /** Where the steps' micro-batches compute when scaled out; null: here. */
    private ScaleOut scaleOut;
    private DataParallel parallel;

    /** {@code config} is the resolved configuration written to {@code config.json} and checked on resume. */
    public TrainingLoop(TrainingOptions opts, ObjectNode config, PrintStream log) {
        this.opts = opts;
        this.config = config;
        this.log = log;
    }

    /**
     * Computes each step's micro-batches on a cluster's executors (null: in this process). The driver
     * keeps the weights, the optimizer, checkpoints, metrics and the data order: a scaled-out run
     * resumes exactly, on a cluster or without one.
     */
    public TrainingLoop scaleOut(ScaleOut scaleOut) {
        this.scaleOut = scaleOut;
        return this;
    }

    /** The data-parallel driver of the last run (null without a cluster): its step timings, for measurements. */
    public DataParallel dataParallel() {
        return parallel;
    }

    /**
     * Runs while holding the run directory's lock (a second process is refused with this one's PID).
     * A run that fails before its first step (bad data, a bad model) removes what it created, so the
     * same --out starts again without --resume.
     */
    public LoopResult run(ObjectiveFactory factory, boolean resume) throws IOException {
        Path root = Path.of(opts.outputDir());
        CreatedPaths created = CreatedPaths.createDirectories(root);
        try (WriterLock lock = WriterLock.directory(root, "run directory")) {
            created.snapshot();
            try {
                return runLocked(factory, resume);
            } catch (IOException | RuntimeException e) {
                if (!stepped) {
                    created.removeCreated();
                }
                throw e;
            }
        }
    }

    private LoopResult runLocked(ObjectiveFactory factory, boolean resume) throws IOException {
        RunDirectory run = new RunDirectory(Path.of(opts.outputDir()));
        if (run.exists() && !resume) {
            throw new IOException(run.root() + ": already holds a run; pass --resume to continue it, or choose another"
                    + " --out");
        }
        if (resume && Files.isRegularFile(run.configFile())) {
            JsonNode saved = Json.MAPPER.readTree(run.configFile().toFile());
            String difference = firstDifference(saved, config, "", RunLocation.of(saved, config));
            if (difference != null) {
                throw new IOException(run.configFile() + ": the settings differ from this command's (" + difference
                        + "); resume with the same settings");
            }
        }
        if (resume && run.status() == RunDirectory.Status.SUCCEEDED) {
            String message = run.root() + " has already finished; nothing to resume";
            log.println(message);
            return new LoopResult(RunDirectory.Status.SUCCEEDED, 0, Map.of(), null, message);
        }
        run.create();
        Checkpoints checkpoints = new Checkpoints(run);
        checkpoints.recover();
        Objective objective = factory.create();
        if (scaleOut != null) {
            parallel = DataParallel.start(scaleOut, objective, opts.loraDropout(), log);
        }
        try {
            return train(run, checkpoints, objective, resume);
        } finally {
            if (parallel != null) {
                parallel.close();
            }
        }
    }

    private LoopResult train(RunDirectory run, Checkpoints checkpoints, Objective objective, boolean resume)
            throws IOException {

        List<Checkpoints.Member> members = new ArrayList<>();
        AdamWConfig adam = new AdamWConfig(opts.adamBeta1(), opts.adamBeta2(), opts.adamEps(), opts.weightDecay());
        for (Objective.Trainee t : objective.trainees()) {
            t.model().setGradientCheckpointing(opts.gradientCheckpointing());
            members.add(new Checkpoints.Member(t.name(), t.model(), new AdamW(t.model().trainableParameters(), adam),
                    t.source()));
        }
        Checkpoints.Member primary = members.get(0);
        BatchPlan plan = new BatchPlan(objective.trainLengths(), opts.batchSize(), opts.seed(),
                objective.groupByLength());
        long stepsPerEpoch = Math.max(1, (plan.batchesPerEpoch() + opts.gradAccum() - 1) / opts.gradAccum());
        long totalSteps = opts.maxSteps() > 0 ? opts.maxSteps() : opts.epochs() * stepsPerEpoch;
        int warmup = opts.warmupSteps() > 0 ? opts.warmupSteps() : (int) Math.round(opts.warmupRatio() * totalSteps);
        LrSchedule schedule = new LrSchedule(opts.schedule(), opts.lr(), warmup, (int) totalSteps, opts.minLrRatio());
        long evalEvery = !objective.hasValidation() ? 0
                : opts.evalEvery() > 0 ? opts.evalEvery() : Math.max(1, totalSteps / 10);
        long saveEvery = opts.saveEvery() > 0 ? opts.saveEvery() : Math.max(1, totalSteps / 10);
        Objective.BestMetric bestMetric = objective.bestMetric();
        String bestName = "val_" + bestMetric.name();

        LoopState state = new LoopState(0, 0, 0, null, 0, opts.seed(), null);
        Optional<Path> latest = resume ? checkpoints.latest() : Optional.empty();
        if (latest.isPresent()) {
            JsonNode saved = Checkpoints.restore(latest.get(), members);
            state = Json.MAPPER.readerFor(LoopState.class)
                    .without(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                    .readValue(saved);
            if (state.stage() != null && !state.stage().isNull()) {
                objective.restore(state.stage());
            }
            run.truncateMetricsAfter(state.step());
            run.appendEvent(RunDirectory.Status.RUNNING, "resumed from " + latest.get().getFileName());
            log.printf("resuming from %s%n", latest.get());
        } else {
            if (!Files.isRegularFile(run.configFile())) {
                run.writeConfig(config);
            }
            if (resume && run.exists() && !run.events().isEmpty()) {
                // crashed (or cancelled) before its first checkpoint: start over, without the lost rows
                run.truncateMetricsAfter(0);
                run.appendEvent(RunDirectory.Status.RUNNING, "no checkpoint to resume from; starting again from"
                        + " step 0 (metrics of the interrupted attempt removed)");
                log.println("no checkpoint to resume from in " + run.root() + "; starting again from step 0");
            } else {
                run.appendEvent(RunDirectory.Status.PENDING, "created");
            }
            run.appendEvent(RunDirectory.Status.RUNNING, "training " + primary.model().trainableParameterCount()
                    + " of " + primary.model().parameterCount() + " parameters for " + totalSteps + " steps");
        }
        long all = members.stream().mapToLong(m -> m.model().parameterCount()).sum();
        long trained = members.stream().mapToLong(m -> m.model().trainableParameterCount()).sum();
        log.printf("%s parameters%s; %d examples, %d batches of %d per epoch, %d step(s) (grad accum %d), warmup %d%n",
                trained == all ? String.format("%,d", all) : String.format("%,d of %,d", trained, all),
                trained == all ? "" : " train (" + primary.model().trainable() + "; optimizer state "
                        + String.format("%,d", 2 * 4 * trained) + " bytes)", plan.examples(),
                plan.batchesPerEpoch(), opts.batchSize(), totalSteps, opts.gradAccum(), warmup);

        Progress progress = new Progress(log, totalSteps, state.step());
        List<int[]> epochBatches = plan.epoch(state.epoch());
        int epoch = state.epoch();
        int batchInEpoch = state.batchInEpoch();
        Double best = state.bestMetric();
        int noImprovement = state.evalsWithoutImprovement();
        long step = state.step();
        Map<String, Double> last = Map.of();
        String stopReason = null;
        try {
            while (step < totalSteps) {
                long t0 = System.nanoTime();
                List<Objective.MicroBatch> micro = new ArrayList<>();
                List<int[]> trainedBatches = new ArrayList<>();
                double totalWeight = 0;
                long inputTokens = 0;
                for (int a = 0; a < opts.gradAccum(); a++) {
                    Objective.MicroBatch mb = objective.prepare(epochBatches.get(batchInEpoch));
                    micro.add(mb);
                    if (mb.weight() > 0) {
                        trainedBatches.add(epochBatches.get(batchInEpoch));
                    }
                    totalWeight += mb.weight();
                    inputTokens += mb.inputTokens();
                    batchInEpoch++;
                    if (batchInEpoch == epochBatches.size()) {
                        epoch++;
                        batchInEpoch = 0;
                        epochBatches = plan.epoch(epoch);
                    }
                }
                double lr = schedule.at(step);
                Metrics metrics = new Metrics();
                double[] norms = new double[members.size()];
                long stepNumber = step + 1;
                Objective.Updater updater = new Objective.Updater() {
                    public void zeroGradients() {
                        for (Checkpoints.Member m : members) {
                            m.model().zeroGradients();
                        }
                    }

                    public <S extends Serializable> void gradients(List<S> shards,
                                                                            Objective.ShardWork<S> work,
                                                                            Metrics shardMetrics) {
                        if (parallel != null) {
                            parallel.gradients(models(members), shards, work, opts.seed() * 0x9E3779B97F4A7C15L
                                    + stepNumber, shardMetrics);
                            return;
                        }
                        zeroGradients();
                        for (S shard : shards) {
                            try {
                                work.run(objective, shard, shardMetrics);
                            } catch (RuntimeException e) {
                                throw e;
                            } catch (Exception e) {
                                throw new IllegalStateException(e);
                            }
                        }
                    }

                    public int shards() {
                        return parallel == null ? 1 : parallel.slices();
                    }

                    public <I extends Serializable, O extends Serializable> List<O> map(List<I> items,
                                                                                      Objective.ReplicaWork<I, O> work) {
                        if (parallel != null) {
                            return parallel.map(models(members), items, work);
                        }
                        try {
                            return work.run(objective, items);
                        } catch (RuntimeException e) {
                            throw e;
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    }

                    public double apply() {
                        for (int i = 0; i < members.size(); i++) {
                            norms[i] = GradientClipping.clip(members.get(i).model().gradients(), opts.maxGradNorm());
                            if (!Double.isFinite(norms[i])) {
                                throw new TrainingFailure("gradient norm became " + norms[i] + " at step " + stepNumber
                                        + "; stopped without saving. Last good checkpoint: " + lastGood(checkpoints)
                                        + ". Try a lower --lr or a larger --warmup-steps.");
                            }
                        }
                        for (Checkpoints.Member m : members) {
                            m.optimizer().step(m.model().gradients(), lr);
                        }
                        return norms[0];
                    }
                };
                // LoRA dropout's masks come from the run's seed and the step: a resumed run draws the same
                for (Checkpoints.Member m : members) {
                    m.model().setAdapterDropoutSeed(opts.seed() * 0x9E3779B97F4A7C15L + stepNumber);
                }
                try {
                    if (objective.ownsStep()) {
                        objective.step(micro, updater, metrics);
                    } else {
                        if (totalWeight <= 0) {
                            throw new TrainingFailure("step " + stepNumber + " has nothing to train on (its batches carry"
                                    + " no trained tokens or pairs); stopped");
                        }
                        if (parallel != null) {
                            parallel.step(models(members), trainedBatches, 1.0 / totalWeight,
                                    opts.seed() * 0x9E3779B97F4A7C15L + stepNumber, metrics);
                        } else {
                            updater.zeroGradients();
                            for (Objective.MicroBatch mb : micro) {
                                if (mb.weight() > 0) {
                                    objective.forwardBackward(mb, 1.0 / totalWeight, metrics);
                                }
                            }
                        }
                        // a non-finite loss is reported as such, before the gradient it produced
                        checkLoss(metrics.values(), stepNumber, checkpoints);
                        updater.apply();
                    }
                } finally {
                    for (Checkpoints.Member m : members) {
                        m.model().setAdapterDropoutSeed(null);
                    }
                    if (parallel != null) {
                        parallel.endMaps(); // the weights the step's maps read change with the next step
                    }
                }
                Map<String, Double> values = metrics.values();
                double loss = checkLoss(values, stepNumber, checkpoints);
                double gradNorm = norms[0];
                step++;
                stepped = true;
                double seconds = (System.nanoTime() - t0) / 1e9;
                double tokensPerS = inputTokens / seconds;
                ObjectNode row = Json.MAPPER.createObjectNode();
                row.put("step", step);
                row.put("epoch", epoch + (double) batchInEpoch / epochBatches.size());
                values.forEach(row::put);
                row.put("lr", lr);
                row.put("grad_norm", gradNorm);
                for (int i = 1; i < members.size(); i++) {
                    row.put("grad_norm/" + members.get(i).name(), norms[i]);
                }
                // where a data-parallel step's time went (its last gradient's, for a stage with several updates)
                if (parallel != null && parallel.lastTiming() != null) {
                    DataParallel.StepTiming t = parallel.lastTiming();
                    row.put("dp/serialise_s", t.serialise() / 1e9);
                    row.put("dp/job_s", t.job() / 1e9);
                    row.put("dp/load_s", t.load() / 1e9);
                    row.put("dp/compute_s", t.compute() / 1e9);
                    row.put("dp/reduce_s", t.reduce() / 1e9);
                    row.put("dp/weight_bytes", t.weightBytes());
                    row.put("dp/gradient_bytes", t.gradientBytes());
                }
                if (!objective.ownsStep()) {
                    // a stage that owns its step (PPO) reports its own throughput (rollout_tokens_per_s)
                    row.put("tokens_per_s", tokensPerS);
                }
                if (evalEvery > 0 && (step % evalEvery == 0 || step == totalSteps)) {
                    Map<String, Double> val = objective.evaluate();
                    StringBuilder line = new StringBuilder("step " + step + ":");
                    val.forEach((k, v) -> {
                        row.put("val_" + k, v);
                        line.append(String.format(" val_%s %.4f", k, v));
                    });
                    progress.message(line.toString());
                    double candidate = val.getOrDefault(bestMetric.name(), Double.NaN);
                    if (bestMetric.improves(candidate, best)) {
                        best = candidate;
                        noImprovement = 0;
                        Checkpoints.writeModel(primary.model(), primary.source(), run.bestDir());
                    } else {
                        noImprovement++;
                        if (opts.earlyStoppingPatience() > 0 && noImprovement >= opts.earlyStoppingPatience()) {
                            stopReason = "early stopping: " + bestName + " has not improved for " + noImprovement
                                    + " evaluation(s); best " + String.format("%.4f", best);
                        }
                    }
                }
                if (step % opts.logEvery() == 0 || step == totalSteps || row.has(bestName)) {
                    run.appendMetrics(row);
                }
                last = values;
                progress.update(step, loss, objective.ownsStep() ? Double.NaN : tokensPerS);
                // the state is built only when a checkpoint is written
                LoopState now = new LoopState(step, epoch, batchInEpoch, best, noImprovement, opts.seed(), null);
                if (run.cancelRequested()) {
                    checkpoints.save(step, members, stateOf(now, objective), opts.keepLast());
                    run.clearCancel();
                    run.appendEvent(RunDirectory.Status.CANCELLED, "cancelled at step " + step
                            + "; resumable with --resume");
                    progress.message("cancelled at step " + step + "; checkpoint saved");
                    return new LoopResult(RunDirectory.Status.CANCELLED, step, last, best, "cancelled");
                }
                if (step % saveEvery == 0 && step < totalSteps && stopReason == null) {
                    checkpoints.save(step, members, stateOf(now, objective), opts.keepLast());
                }
                if (stopReason != null) {
                    progress.message(stopReason);
                    break;
                }
            }
            Checkpoints.writeModel(primary.model(), primary.source(), run.finalDir());
            for (int i = 1; i < members.size(); i++) {
                Checkpoints.Member m = members.get(i);
                Checkpoints.writeModel(m.model(), m.source(), run.finalDir().resolve(m.name()));
            }
            objective.finish(run, log);
        } catch (IOException | RuntimeException e) {
            recordFailure(run, e);
            throw e;
        }
        String message = (stopReason != null ? stopReason + "; " : "") + "final model in " + run.finalDir()
                + (best != null ? String.format("; best %s %.4f in %s", bestName, best, run.bestDir()) : "");
        run.appendEvent(RunDirectory.Status.SUCCEEDED, message);
        log.println(message);
        return new LoopResult(RunDirectory.Status.SUCCEEDED, step, last, best, message);
    }

    private static List<DecoderModel> models(List<Checkpoints.Member> members) {
        return members.stream().map(Checkpoints.Member::model).toList();
    }

    private static double checkLoss(Map<String, Double> values, long step, Checkpoints checkpoints)
            throws IOException {
        double loss = values.getOrDefault("loss", Double.NaN);
        if (!Double.isFinite(loss)) {
            throw new TrainingFailure("loss became " + loss + " at step " + step + "; stopped without saving. Last"
                    + " good checkpoint: " + lastGood(checkpoints) + ". Try a lower --lr or a larger --warmup-steps.");
        }
        return loss;
    }

    private static String lastGood(Checkpoints checkpoints) {
        try {
            return checkpoints.latest().map(p -> p.getFileName().toString()).orElse("none");
        } catch (IOException e) {
            return "unknown (" + e.getMessage() + ")";
        }
    }

    private static JsonNode stateOf(LoopState s, Objective objective) {
        return Json.MAPPER.valueToTree(new LoopState(s.step(), s.epoch(), s.batchInEpoch(), s.bestMetric(),
                s.evalsWithoutImprovement(), s.seed(), objective.state()));
    }

    /** Marks the run failed; on a full disk that may fail too, and must not hide the original error. */
    private static void recordFailure(RunDirectory run, Exception cause) {
        try {
            run.appendEvent(RunDirectory.Status.FAILED, String.valueOf(cause.getMessage()));
        } catch (IOException e) {
            cause.addSuppressed(e);
        }
    }

    /**
     * Equal values; numbers compare by value (a seed read back as an int equals the long it was),
     * and strings that differ as text may still be one path, spelled or placed otherwise.
     */
    private static boolean sameValue(JsonNode a, JsonNode b, RunLocation location) {
        if (a.isNumber() && b.isNumber()) {
            return a.decimalValue().compareTo(b.decimalValue()) == 0;
        }
        // a setting added since the run was saved, unset now, is the run as it was
        return a.equals(b) || (a.isMissingNode() && b.isNull())
                || (a.isTextual() && b.isTextual() && location.samePath(a.asText(), b.asText()));
    }

    /**
     * The first setting whose value differs, or null when none does; nested objects compare key by
     * key, and paths by the place they lead to.
     */
    /**
     * Settings that change memory and speed but not one bit of the results, so a run may resume
     * with them changed (a run that ran out of memory resumes with --gradient-checkpointing).
     */
    private static final Set<String> RESULT_NEUTRAL = Set.of("gradient_checkpointing");

    public static String firstDifference(JsonNode saved, JsonNode now) {
        return firstDifference(saved, now, "", RunLocation.none());
    }

    private static String firstDifference(JsonNode saved, JsonNode now, String prefix, RunLocation location) {
        Iterator<String> it = now.fieldNames();
        while (it.hasNext()) {
            String k = it.next();
            JsonNode a = saved.path(k);
            JsonNode b = now.path(k);
            if (prefix.isEmpty() && (k.equals(RunLocation.KEY) || RESULT_NEUTRAL.contains(k))) {
                continue; // where the run is, not how it runs
            }
            if (a.isObject() && b.isObject()) {
                String inner = firstDifference(a, b, prefix + k + ".", location);
                if (inner != null) {
                    return inner;
                }
            } else if (!sameValue(a, b, location)) {
                return prefix + k + ": " + a + " then, " + b + " now";
            }
        }
        Iterator<String> old = saved.fieldNames();
        while (old.hasNext()) {
            String k = old.next();
            if (!now.has(k) && !(prefix.isEmpty() && RESULT_NEUTRAL.contains(k))) {
                return prefix + k + ": " + saved.path(k) + " then, absent now";
            }
        }
        return null;
    }
}
