package org.align4j.sft;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.loss.LanguageModelLoss;
import org.align4j.core.model.GptModel;
import org.align4j.core.optim.AdamW;
import org.align4j.core.optim.AdamWConfig;
import org.align4j.core.optim.GradientClipping;
import org.align4j.core.optim.LrSchedule;
import org.align4j.core.run.Checkpoints;
import org.align4j.core.run.RunDirectory;
import org.align4j.core.run.TrainerState;
import org.align4j.data.batch.BatchPlan;
import org.align4j.data.batch.Collator;
import org.align4j.data.batch.Example;
import org.align4j.data.batch.ExampleEncoder;
import org.align4j.data.batch.Packer;
import org.align4j.data.batch.TrainingBatch;
import org.align4j.data.batch.Truncation;
import org.align4j.data.format.DataRecord;
import org.align4j.data.format.Dataset;
import org.align4j.data.format.RecordKind;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Supervised fine-tuning: next-token cross-entropy on the trained tokens of each example
 * (all tokens of text, completions of prompt-completion pairs, assistant turns of chats),
 * AdamW with warmup and decay, gradient accumulation and clipping, evaluation, checkpoints,
 * exact resume, cancellation, early stopping.
 */
public final class SftTrainer {

    public static final Set<RecordKind> KINDS = Set.of(RecordKind.TEXT, RecordKind.COMPLETION, RecordKind.CHAT);

    private final SftConfig cfg;
    private final Kernels kernels;
    private final PrintStream log;

    public SftTrainer(SftConfig cfg, Kernels kernels, PrintStream log) {
        this.cfg = cfg;
        this.kernels = kernels;
        this.log = log;
    }

    /** Data encoded for training: examples, whether text was packed. */
    private record Encoded(List<Example> examples, boolean packed, int truncated) {
    }

    private Encoded encode(Dataset d, ExampleEncoder enc, int maxLength) {
        List<Example> ex = new ArrayList<>(d.records().size());
        for (DataRecord r : d.records()) {
            ex.add(enc.encode(r));
        }
        boolean pack = cfg.packing() && d.kind() == RecordKind.TEXT;
        if (pack) {
            ex = Packer.pack(ex, maxLength);
        }
        int truncated = 0;
        for (Example e : ex) {
            truncated += e.length() > maxLength + 1 ? 1 : 0;
        }
        return new Encoded(ex, pack, truncated);
    }

    private Dataset read(String file, String what) throws IOException {
        Dataset d = Dataset.read(Path.of(file), cfg.format() == null ? null : RecordKind.parse(cfg.format()),
                cfg.skipBadRecords(), KINDS);
        if (!d.skipped().isEmpty()) {
            log.printf("%s: skipped %d bad record(s) (--skip-bad-records) at line(s) %s%n", file,
                    d.skippedLines().size(), d.skippedLines());
        }
        log.printf("%s data: %s, %d %s records%n", what, file, d.records().size(), d.kind().id());
        return d;
    }

    public SftResult run(boolean resume) throws IOException {
        RunDirectory run = new RunDirectory(Path.of(cfg.outputDir()));
        ObjectNode resolved = cfg.toJson();
        if (run.exists() && !resume) {
            throw new IOException(run.root() + ": already holds a run; pass --resume to continue it, or choose another"
                    + " --out");
        }
        if (resume && Files.isRegularFile(run.configFile())) {
            JsonNode saved = SftConfig.JSON.readTree(run.configFile().toFile());
            if (!SftConfig.JSON.treeToValue(saved, SftConfig.class).equals(cfg)) {
                throw new IOException(run.configFile() + ": the settings differ from this command's ("
                        + firstDifference(saved, resolved) + "); resume with the same settings");
            }
        }
        Path modelDir = Path.of(cfg.model());
        GptModel model = ModelDirectory.load(modelDir, kernels, DataType.FLOAT);
        ExampleEncoder enc = ExampleEncoder.forModel(modelDir, model.config().eosTokenId());
        int eos = enc.eosTokenId();
        int maxLength = cfg.maxLength() > 0 ? Math.min(cfg.maxLength(), model.config().nPositions())
                : model.config().nPositions();
        Encoded train = encode(read(cfg.trainFile(), "train"), enc, maxLength);
        Dataset valData = cfg.valFile() == null ? null : read(cfg.valFile(), "validation");
        Encoded val = valData == null ? null : encode(valData, enc, maxLength);
        if (train.truncated() > 0) {
            log.printf("%d training example(s) exceed %d tokens and are truncated (%s)%n", train.truncated(),
                    maxLength, cfg.truncation());
        }
        int[] lengths = train.examples().stream().mapToInt(Example::length).toArray();
        BatchPlan plan = new BatchPlan(lengths, cfg.batchSize(), cfg.seed(), !train.packed());
        long stepsPerEpoch = (plan.batchesPerEpoch() + cfg.gradAccum() - 1) / cfg.gradAccum();
        long totalSteps = cfg.maxSteps() > 0 ? cfg.maxSteps() : cfg.epochs() * stepsPerEpoch;
        int warmup = cfg.warmupSteps() > 0 ? cfg.warmupSteps() : (int) Math.round(cfg.warmupRatio() * totalSteps);
        LrSchedule schedule = new LrSchedule(LrSchedule.Kind.parse(cfg.schedule()), cfg.lr(), warmup,
                (int) totalSteps, cfg.minLrRatio());
        AdamW opt = new AdamW(model.parameters(), new AdamWConfig(cfg.adamBeta1(), cfg.adamBeta2(), cfg.adamEps(),
                cfg.weightDecay()));
        long evalEvery = val == null ? 0 : cfg.evalEvery() > 0 ? cfg.evalEvery() : Math.max(1, totalSteps / 10);
        long saveEvery = cfg.saveEvery() > 0 ? cfg.saveEvery() : Math.max(1, totalSteps / 10);
        Collator collator = new Collator(maxLength, Truncation.parse(cfg.truncation()), eos);
        Checkpoints checkpoints = new Checkpoints(run);

        TrainerState state = new TrainerState(0, 0, 0, Double.POSITIVE_INFINITY, 0, cfg.seed());
        run.create();
        Optional<Path> latest = resume ? checkpoints.latest() : Optional.empty();
        if (latest.isPresent()) {
            state = Checkpoints.restore(latest.get(), model, opt);
            run.truncateMetricsAfter(state.step());
            run.appendEvent(RunDirectory.Status.RUNNING, "resumed from " + latest.get().getFileName());
            log.printf("resuming from %s%n", latest.get());
        } else {
            if (!Files.isRegularFile(run.configFile())) {
                run.writeConfig(resolved);
            }
            run.appendEvent(RunDirectory.Status.PENDING, "created");
            run.appendEvent(RunDirectory.Status.RUNNING, "training " + model.parameterCount() + " parameters for "
                    + totalSteps + " steps");
        }
        log.printf("%,d parameters; %d examples, %d batches of %d per epoch, %d step(s) (grad accum %d), "
                        + "warmup %d, max length %d%n", model.parameterCount(), plan.examples(),
                plan.batchesPerEpoch(), cfg.batchSize(), totalSteps, cfg.gradAccum(), warmup, maxLength);

        Progress progress = new Progress(log, totalSteps, state.step());
        List<int[]> epochBatches = plan.epoch(state.epoch());
        int epoch = state.epoch();
        int batchInEpoch = state.batchInEpoch();
        double best = state.bestValLoss();
        int noImprovement = state.evalsWithoutImprovement();
        long step = state.step();
        double loss = Double.NaN;
        String stopReason = null;
        try {
            while (step < totalSteps) {
                long t0 = System.nanoTime();
                List<TrainingBatch> micro = new ArrayList<>();
                int trained = 0;
                long inputTokens = 0;
                for (int a = 0; a < cfg.gradAccum(); a++) {
                    int[] idx = epochBatches.get(batchInEpoch);
                    List<Example> ex = new ArrayList<>(idx.length);
                    for (int i : idx) {
                        ex.add(train.examples().get(i));
                    }
                    TrainingBatch tb = collator.collate(ex);
                    micro.add(tb);
                    trained += tb.trainedTokens();
                    for (float m : tb.inputs().keyMask()) {
                        inputTokens += m != 0f ? 1 : 0;
                    }
                    batchInEpoch++;
                    if (batchInEpoch == epochBatches.size()) {
                        epoch++;
                        batchInEpoch = 0;
                        epochBatches = plan.epoch(epoch);
                    }
                }
                model.zeroGradients();
                loss = 0;
                long correct = 0;
                for (TrainingBatch tb : micro) {
                    if (tb.trainedTokens() == 0) {
                        continue;
                    }
                    float[] w = new float[tb.lossMask().length];
                    for (int i = 0; i < w.length; i++) {
                        w[i] = tb.lossMask()[i] / trained;
                    }
                    int[] predictions = new int[w.length];
                    loss += LanguageModelLoss.forwardBackward(model, tb.inputs(), tb.targets(), w, predictions);
                    correct += LossEvaluation.correctCount(predictions, tb);
                }
                double gradNorm = GradientClipping.clip(model.gradients(), cfg.maxGradNorm());
                if (!Double.isFinite(loss) || !Double.isFinite(gradNorm)) {
                    throw new TrainingFailure((Double.isFinite(loss) ? "gradient norm" : "loss") + " became "
                            + (Double.isFinite(loss) ? gradNorm : loss) + " at step " + (step + 1)
                            + "; stopped without saving. Last good checkpoint: "
                            + checkpoints.latest().map(p -> p.getFileName().toString()).orElse("none")
                            + ". Try a lower --lr or a larger --warmup-steps.");
                }
                double lr = schedule.at(step);
                opt.step(model.gradients(), lr);
                step++;
                double seconds = (System.nanoTime() - t0) / 1e9;
                double tokensPerS = inputTokens / seconds;
                ObjectNode row = SftConfig.JSON.createObjectNode();
                row.put("step", step);
                row.put("epoch", epoch + (double) batchInEpoch / epochBatches.size());
                row.put("loss", loss);
                row.put("lr", lr);
                row.put("grad_norm", gradNorm);
                row.put("tokens_per_s", tokensPerS);
                row.put("mean_token_accuracy", trained == 0 ? 0 : (double) correct / trained);
                row.put("num_tokens", trained);
                if (evalEvery > 0 && (step % evalEvery == 0 || step == totalSteps)) {
                    LossEvaluation.Result v = LossEvaluation.evaluate(model, val.examples(), collator, cfg.batchSize());
                    row.put("val_loss", v.loss());
                    row.put("val_perplexity", v.perplexity());
                    row.put("val_mean_token_accuracy", v.meanTokenAccuracy());
                    progress.message(String.format("step %d: val_loss %.4f, val_perplexity %.2f, val accuracy %.3f",
                            step, v.loss(), v.perplexity(), v.meanTokenAccuracy()));
                    if (v.loss() < best) {
                        best = v.loss();
                        noImprovement = 0;
                        Checkpoints.writeModel(model, modelDir, run.bestDir());
                    } else {
                        noImprovement++;
                        if (cfg.earlyStoppingPatience() > 0 && noImprovement >= cfg.earlyStoppingPatience()) {
                            stopReason = "early stopping: val_loss has not improved for " + noImprovement
                                    + " evaluation(s); best " + String.format("%.4f", best);
                        }
                    }
                }
                if (step % cfg.logEvery() == 0 || step == totalSteps || row.has("val_loss")) {
                    run.appendMetrics(row);
                }
                progress.update(step, loss, tokensPerS);
                TrainerState now = new TrainerState(step, epoch, batchInEpoch, best, noImprovement, cfg.seed());
                if (run.cancelRequested()) {
                    checkpoints.save(model, opt, now, modelDir, cfg.keepLast());
                    run.clearCancel();
                    run.appendEvent(RunDirectory.Status.CANCELLED, "cancelled at step " + step
                            + "; resumable with --resume");
                    progress.message("cancelled at step " + step + "; checkpoint saved");
                    return new SftResult(RunDirectory.Status.CANCELLED, step, loss, best, "cancelled");
                }
                if (step % saveEvery == 0 && step < totalSteps && stopReason == null) {
                    checkpoints.save(model, opt, now, modelDir, cfg.keepLast());
                }
                if (stopReason != null) {
                    progress.message(stopReason);
                    break;
                }
            }
        } catch (TrainingFailure e) {
            run.appendEvent(RunDirectory.Status.FAILED, e.getMessage());
            throw e;
        } catch (IOException | RuntimeException e) {
            run.appendEvent(RunDirectory.Status.FAILED, String.valueOf(e.getMessage()));
            throw e;
        }
        Checkpoints.writeModel(model, modelDir, run.finalDir());
        if (cfg.showSamples() > 0 && valData != null && valData.kind() != RecordKind.TEXT) {
            List<DataRecord> first = valData.records().subList(0, Math.min(cfg.showSamples(), valData.records().size()));
            var report = new org.align4j.sft.eval.Evaluator(model, enc).evaluate(first, cfg.batchSize(), true, 32, null);
            log.println("answers of the trained model to validation prompts:");
            for (var sample : report.samples()) {
                log.printf("  > %s%n    %s%n", sample.prompt().replace("\n", " | "), sample.prediction());
            }
        }
        String message = (stopReason != null ? stopReason + "; " : "") + "final model in " + run.finalDir()
                + (Double.isFinite(best) ? String.format("; best val_loss %.4f in %s", best, run.bestDir()) : "");
        run.appendEvent(RunDirectory.Status.SUCCEEDED, message);
        log.println(message);
        return new SftResult(RunDirectory.Status.SUCCEEDED, step, loss, best, message);
    }

    private static String firstDifference(JsonNode a, JsonNode b) {
        var it = b.fieldNames();
        while (it.hasNext()) {
            String k = it.next();
            if (!a.path(k).asText().equals(b.path(k).asText())) {
                return k + ": " + a.path(k) + " then, " + b.path(k) + " now";
            }
        }
        return "fields differ";
    }
}
