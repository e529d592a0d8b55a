package org.align4j.pipeline;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.checkpoint.ModelKind;
import org.align4j.core.checkpoint.ModelSource;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.output.PathKind;
import org.align4j.core.output.WriterLock;
import org.align4j.core.run.RunDirectory;
import org.align4j.core.tokenizer.TokenizerFiles;
import org.align4j.core.util.AtomicFiles;
import org.align4j.core.util.Fingerprint;
import org.align4j.core.util.InputFiles;
import org.align4j.core.util.Json;
import org.align4j.core.util.UserInputException;
import org.align4j.data.format.PromptSource;
import org.align4j.data.format.RecordJson;
import org.align4j.data.jsonl.JsonlWriter;
import org.align4j.data.prepare.UnpairedRecords;
import org.align4j.data.label.JudgmentStore;
import org.align4j.data.label.LabelTask;
import org.align4j.dpo.DpoOptions;
import org.align4j.dpo.DpoTrainer;
import org.align4j.dpo.OnlineDpoTrainer;
import org.align4j.kto.KtoOptions;
import org.align4j.kto.KtoTrainer;
import org.align4j.ppo.PpoOptions;
import org.align4j.ppo.PpoTrainer;
import org.align4j.reward.Judges;
import org.align4j.reward.RewardOptions;
import org.align4j.reward.RewardScorer;
import org.align4j.reward.RewardTrainer;
import org.align4j.reward.fn.RewardFunction;
import org.align4j.sft.SftOptions;
import org.align4j.sft.SftTrainer;
import org.align4j.train.LoopResult;
import org.align4j.train.SettingsException;
import org.align4j.train.StageConfig;
import org.align4j.train.TrainingLoop;
import org.align4j.train.scale.ScaleOut;

/**
 * The three-stage alignment on the controlled task, plus DPO from the same labels: the task's
 * files, SFT, candidates sampled from the SFT model, labels (simulated annotators, or a person's
 * judgments), the reward model, PPO, PPO-ptx, DPO (and with the sweep, DPO at several betas and
 * PPO at several KL coefficients; KTO from thumbs derived from the same rankings and online DPO judged by the
 * reward model when their sections are given), the evaluation of every policy on the held-out prompts, and the
 * report. Each training stage is an ordinary run directory under the pipeline's directory, so
 * {@code runs show}, {@code runs cancel} and {@code runs plot} work on it; a stage that finished is
 * skipped when the pipeline runs again, and an interrupted one resumes from its last checkpoint.
 */
public final class Pipeline {

    /** How the command was invoked. {@code judgments} and {@code tasks} replace the simulated annotators. */
    public record Options(Path configFile, Path out, boolean resume, Path judgments, Path tasks, boolean sweep) {
    }

    /** How the run ended: finished, or stopped at a cancelled stage (resumable). */
    public record Outcome(boolean finished, String stoppedAt, List<PolicyComparison.Result> results, Path report) {
    }

    /** Runs a stage; {@code scaleOut} (null: in this process) is where its steps compute, for a stage that scales out. */
    @FunctionalInterface
    interface Trainer<S> {
        LoopResult run(StageConfig<S> cfg, Kernels kernels, PrintStream log, boolean resume, ScaleOut scaleOut)
                throws IOException;
    }

    /** A kind of training stage: its settings' defaults and type, whether it reads a train file, how it runs. */
    private record Stage<S>(ObjectNode defaults, Class<S> type, boolean needsTrain, Trainer<S> trainer) {
    }

    private static final Stage<SftOptions> SFT = new Stage<>(SftOptions.defaultSettings(), SftOptions.class, true,
            SftTrainer::run);
    private static final Stage<RewardOptions> REWARD = new Stage<>(RewardOptions.defaultSettings(),
            RewardOptions.class, true, RewardTrainer::run);
    private static final Stage<PpoOptions> PPO = new Stage<>(PpoOptions.defaultSettings(), PpoOptions.class, false,
            PpoTrainer::run);
    private static final Stage<DpoOptions> DPO = new Stage<>(DpoOptions.defaultSettings(), DpoOptions.class, true,
            DpoTrainer::run);
    private static final Stage<KtoOptions> KTO = new Stage<>(KtoOptions.defaultSettings(), KtoOptions.class, true,
            KtoTrainer::run);
    /** DPO on pairs sampled each step from the policy on the training prompts: no train file. */
    private static final Stage<DpoOptions> ONLINE_DPO = new Stage<>(DpoOptions.defaultSettings(), DpoOptions.class,
            false, (cfg, kernels, log, resume, scaleOut) -> {
                DpoOptions d = cfg.stage();
                return OnlineDpoTrainer.run(cfg, Judges.of(Path.of(cfg.training().model()), d.judgeModel(),
                        d.grader(), d.rewardFn(), d.graderConcurrency(), 2 * cfg.training().batchSize(), kernels),
                        kernels, log, resume, scaleOut);
            });

    private final PipelineConfig cfg;
    private final Options opts;
    private final Kernels kernels;
    private final PrintStream log;
    private final Path out;
    private final PipelineState state;
    private final RewardFunction judge;
    private final List<Planned> plan = new ArrayList<>();
    private ObjectNode fingerprints;
    /** Where the stages that scale out compute (null: in this process). */
    private ScaleOut scaleOut;

    /** A file or directory the user gave, by its name in messages, and the step that reads it. */
    private record Input(String name, Path path, String step, String stepTitle) {
    }

    /** A training run the pipeline will make: its stage, its directory name, its settings on top of the defaults. */
    private record Planned(Stage<?> stage, String name, String title, String section, ObjectNode overlay,
                           String policyKind) {
    }

    private Pipeline(PipelineConfig cfg, Options opts, Kernels kernels, PrintStream log) throws IOException {
        this.cfg = cfg;
        this.opts = opts;
        this.kernels = kernels;
        this.log = log;
        this.out = opts.out();
        this.judge = RewardFunction.parse(cfg.annotators().judge(),
                opts.configFile() + ": setting 'annotators.judge'");
        this.state = new PipelineState(out.resolve("state.json"));
    }

    /**
     * Reads and checks everything before any work: the config and every stage's settings, the
     * files given, and whether {@code out} may be used. Every problem is a user error naming its source.
     */
    public static Pipeline prepare(Options opts, Kernels kernels, PrintStream log) throws IOException {
        PipelineConfig cfg = PipelineConfig.read(opts.configFile());
        List<String> problems = new ArrayList<>(cfg.problems());
        if (!problems.isEmpty()) {
            throw new SettingsException(problems.stream().map(p -> opts.configFile() + ": " + p).toList());
        }
        if (!Files.isDirectory(Path.of(cfg.baseModel()))) {
            throw new UserInputException(opts.configFile() + ": base_model: " + cfg.baseModel()
                    + " is not a directory");
        }
        for (Map.Entry<String, String> p : cfg.extraPolicies().entrySet()) {
            if (!Files.isDirectory(Path.of(p.getValue()))) {
                throw new UserInputException(opts.configFile() + ": policies." + p.getKey() + ": " + p.getValue()
                        + " is not a directory");
            }
            // compared with the stages' policies on the base model's token ids, before any stage runs
            ModelKind.requireCausalLm(Path.of(p.getValue()));
            TokenizerFiles.requireSameTokenizer(opts.configFile() + ": base_model", Path.of(cfg.baseModel()),
                    opts.configFile() + ": policies." + p.getKey(), Path.of(p.getValue()));
        }
        if ((opts.judgments() == null) != (opts.tasks() == null)) {
            throw new UserInputException("--judgments and --tasks go together: the judgments of the tasks in a task"
                    + " file (label prepare, then label session)");
        }
        if (opts.judgments() != null) {
            // every judgment against its task now, not after SFT: a judgment of another task file is FILE:LINE
            Map<String, LabelTask> tasks = new LinkedHashMap<>();
            LabelTask.read(opts.tasks()).forEach(t -> tasks.put(t.id(), t));
            JudgmentStore.readInputs(List.of(opts.judgments())).checkAgainst(tasks, opts.tasks());
        }
        Pipeline p = new Pipeline(cfg, opts, kernels, log);
        p.planRuns();
        Map<String, JsonNode> settings = new LinkedHashMap<>();
        for (Planned r : p.plan) {
            StageConfig<?> stage = p.resolve(r, true);
            p.checkStageInputs(r, stage);
            ObjectNode resolved = stage.toJson();
            resolved.remove("output_dir");
            settings.put(r.name(), resolved);
        }
        // a sweep point with the settings of the main run is that run, not a second copy of it
        p.plan.removeIf(r -> r.name().startsWith("sweep/") && settings.get(r.name()).equals(
                settings.get(r.stage() == DPO ? "dpo" : "ppo")));
        p.checkOutputDirectory();
        return p;
    }

    /**
     * Runs the training stages that scale out data-parallel on {@code scaleOut}'s cluster, and the
     * candidates' sampling and the evaluation's sampling and scoring as jobs on it; null: everything
     * in this process. Not part of the pipeline's settings: where a step computes changes its result
     * only in the rounding of summed gradients, so a pipeline may resume with or without a cluster.
     */
    public Pipeline scaleOut(ScaleOut scaleOut) {
        this.scaleOut = scaleOut;
        return this;
    }

    private void planRuns() {
        plan.add(new Planned(SFT, "sft", "SFT", "sft", section("sft"), "sft"));
        plan.add(new Planned(REWARD, "reward", "reward model", "reward", section("reward"), null));
        plan.add(new Planned(PPO, "ppo", "PPO", "ppo", section("ppo"), "ppo"));
        ObjectNode ptx = section("ppo");
        ptx.put("ptx_data", task().sftTrain().toString());
        ptx.setAll(cfg.ppoPtx());
        plan.add(new Planned(PPO, "ppo-ptx", "PPO-ptx", "ppo_ptx", ptx, "ppo-ptx"));
        plan.add(new Planned(DPO, "dpo", "DPO", "dpo", section("dpo"), "dpo"));
        if (cfg.has("kto")) {
            plan.add(new Planned(KTO, "kto", "KTO", "kto", section("kto"), "kto"));
        }
        if (cfg.has("online_dpo")) {
            plan.add(new Planned(ONLINE_DPO, "online-dpo", "online DPO", "online_dpo", section("online_dpo"),
                    "online-dpo"));
        }
        if (opts.sweep()) {
            for (double beta : cfg.sweep().dpoBeta()) {
                ObjectNode o = section("dpo");
                o.put("beta", beta);
                plan.add(new Planned(DPO, "sweep/dpo-beta" + beta, "DPO, beta " + beta, "dpo", o, "dpo"));
            }
            for (double kl : cfg.sweep().ppoKlCoef()) {
                ObjectNode o = section("ppo");
                o.put("kl_coef", kl);
                o.set("target_kl", NullNode.getInstance());
                plan.add(new Planned(PPO, "sweep/ppo-kl" + kl, "PPO, KL coefficient " + kl, "ppo", o, "ppo"));
            }
        }
    }

    /** The seed, then the config's section (so a section may set its own seed). */
    private ObjectNode section(String key) {
        ObjectNode o = Json.MAPPER.createObjectNode().put("seed", cfg.seed());
        o.setAll(cfg.section(key).deepCopy());
        return o;
    }

    private String where(String key) {
        return opts.configFile() + ": section '" + key + "'";
    }

    private PositiveStories.TaskFiles task() {
        return PositiveStories.files(out.resolve("task"));
    }

    private Path labels(String file) {
        return out.resolve("labels").resolve(file);
    }

    private Path finalModel(String run) {
        return out.resolve(run).resolve("final");
    }

    /** The paths the pipeline sets in a run's settings; a section may not set them. */
    private Map<String, JsonNode> fixed(Planned r, boolean withValidation) {
        Map<String, JsonNode> f = new LinkedHashMap<>();
        f.put("output_dir", text(out.resolve(r.name())));
        if (r.stage() == SFT) {
            f.put("model", Json.MAPPER.getNodeFactory().textNode(cfg.baseModel()));
            f.put("train_file", text(task().sftTrain()));
            f.put("val_file", text(task().sftVal()));
        } else if (r.stage() == PPO) {
            f.put("model", text(finalModel("sft")));
            f.put("prompts", text(task().trainPrompts()));
            if (!r.overlay().hasNonNull("reward_fn") && !r.overlay().hasNonNull("grader")) {
                f.put("reward_model", text(finalModel("reward")));
            }
        } else if (r.stage() == KTO) {
            f.put("model", text(finalModel("sft")));
            f.put("train_file", text(labels("thumbs.train.jsonl")));
            f.put("val_file", withValidation ? text(labels("thumbs.val.jsonl")) : NullNode.getInstance());
            f.put("ref_model", text(finalModel("sft")));
        } else if (r.stage() == ONLINE_DPO) {
            f.put("model", text(finalModel("sft")));
            f.put("online", BooleanNode.TRUE);
            f.put("prompts", text(task().trainPrompts()));
            f.put("train_file", NullNode.getInstance());
            // offline DPO's validation pairs give the same val_ metrics as the offline run's
            f.put("val_file", withValidation ? text(labels("rankings.val.jsonl")) : NullNode.getInstance());
            f.put("ref_model", text(finalModel("sft")));
            if (!r.overlay().hasNonNull("reward_fn") && !r.overlay().hasNonNull("grader")) {
                f.put("judge_model", text(finalModel("reward")));
            }
        } else {
            f.put("model", text(finalModel("sft")));
            f.put("train_file", text(labels("rankings.train.jsonl")));
            f.put("val_file", withValidation ? text(labels("rankings.val.jsonl")) : NullNode.getInstance());
            if (r.stage() == DPO) {
                f.put("ref_model", text(finalModel("sft")));
            }
        }
        if (r.stage() != SFT) {
            // these stages start from the SFT model (an adapter itself with sft.lora_r): nothing goes on it
            f.put("adapter", NullNode.getInstance());
        }
        return f;
    }

    private static JsonNode text(Path p) {
        return Json.MAPPER.getNodeFactory().textNode(p.toString());
    }

    private StageConfig<?> resolve(Planned r, boolean withValidation) throws IOException {
        Map<String, JsonNode> fixed = fixed(r, withValidation);
        String where = where(r.section());
        for (String k : fixed.keySet()) {
            if (cfg.section(r.section()).has(k) || (r.section().equals("ppo_ptx") && cfg.ppo().has(k))) {
                throw new UserInputException(where + ": '" + k + "' is set by the pipeline"
                        + (k.equals("model") ? " (base_model, or the SFT model)" : ""));
            }
        }
        try {
            return StageConfig.resolve(r.stage().defaults(), r.stage().type(), r.overlay(), where, fixed,
                    r.stage().needsTrain());
        } catch (SettingsException e) {
            throw new SettingsException(e.problems().stream().map(p -> p.startsWith(where) ? p : where + ": " + p)
                    .toList());
        }
    }

    /**
     * What a stage reads that its section names (a reward function, a value model, PPO-ptx text) is
     * checked now, so a mistake in the last stage is not found after the first ones trained.
     */
    private void checkStageInputs(Planned r, StageConfig<?> stage) throws IOException {
        String where = where(r.section());
        if (stage.stage() instanceof DpoOptions dpo) {
            if (dpo.rewardFn() != null) {
                RewardFunction.parse(dpo.rewardFn(), where + ": setting 'reward_fn'");
            }
            requireFile(where, "grader", dpo.grader());
            return;
        }
        if (!(stage.stage() instanceof PpoOptions ppo)) {
            return;
        }
        requireFile(where, "grader", ppo.grader());
        if (ppo.rewardFn() != null) {
            RewardFunction.parse(ppo.rewardFn(), where + ": setting 'reward_fn'");
        }
        if (ppo.valueModel() != null && !Files.isDirectory(Path.of(ppo.valueModel()))) {
            throw new UserInputException(where + ": setting 'value_model': " + ppo.valueModel()
                    + " is not a model directory");
        }
        if (ppo.ptxData() != null && !Path.of(ppo.ptxData()).equals(task().sftTrain())) {
            requireFile(where, "ptx_data", ppo.ptxData());
        }
    }

    private static void requireFile(String where, String key, String file) {
        if (file == null) {
            return;
        }
        try {
            InputFiles.requireReadableFile(Path.of(file));
        } catch (IOException e) {
            throw new UserInputException(where + ": setting '" + key + "': " + e.getMessage());
        }
    }

    /** The pipeline's own record of its settings and its inputs' fingerprints; resuming with other ones is refused. */
    private ObjectNode identity() throws IOException {
        ObjectNode o = cfg.toJson();
        o.put("judgments", opts.judgments() == null ? null : opts.judgments().toString());
        o.put("tasks", opts.tasks() == null ? null : opts.tasks().toString());
        if (fingerprints == null) {
            fingerprints = Json.MAPPER.createObjectNode();
            for (Input in : inputs()) {
                fingerprints.put(in.name(), Fingerprint.of(in.path()));
            }
        }
        o.set("inputs", fingerprints);
        return o;
    }

    /** Every file and model the user gave, with the step that reads it. */
    private List<Input> inputs() {
        List<Input> in = new ArrayList<>();
        in.add(new Input("base_model", Path.of(cfg.baseModel()), "sft", "SFT"));
        if (opts.tasks() != null) {
            in.add(new Input("--tasks", opts.tasks(), "candidates", "candidates"));
            in.add(new Input("--judgments", opts.judgments(), "labels", "labels"));
        }
        // what a stage section names itself (the pipeline's own files are not inputs)
        for (Planned r : plan) {
            JsonNode section = cfg.section(r.section());
            for (String key : List.of("value_model", "ptx_data", "grader")) {
                if (section.path(key).isTextual() && in.stream().noneMatch(i -> i.name().endsWith("." + key)
                        && i.path().equals(Path.of(section.get(key).asText())))) {
                    in.add(new Input(r.section() + "." + key, Path.of(section.get(key).asText()), r.name(),
                            r.title()));
                }
            }
        }
        cfg.extraPolicies().forEach((k, v) -> in.add(new Input("policies." + k, Path.of(v), "eval", "evaluation")));
        return in;
    }

    /**
     * Refuses to resume over an input that changed after a step read it (finished, or a training run
     * begun: its results would mix two inputs); an input whose step has not run yet may change, and is
     * recorded anew.
     */
    private void checkInputs(JsonNode saved, JsonNode now) throws IOException {
        state.load();
        for (Input in : inputs()) {
            JsonNode before = saved.get(in.name());
            boolean used = state.done(in.step()) || (plan.stream().anyMatch(r -> r.name().equals(in.step()))
                    && Files.isDirectory(out.resolve(in.step())));
            if (before != null && !before.equals(now.get(in.name())) && used) {
                throw new UserInputException(in.path() + " (" + in.name() + ") changed since the pipeline's "
                        + in.stepTitle() + " step used it; resume with the " + (Files.isDirectory(in.path()) ? "model"
                        : "file") + " it used, or run the pipeline into another --out");
            }
        }
    }

    private void checkOutputDirectory() throws IOException {
        Path saved = out.resolve("pipeline.json");
        if (Files.exists(saved)) {
            if (!opts.resume()) {
                throw new UserInputException(out + ": already holds a pipeline; pass --resume to continue it (finished"
                        + " stages are skipped), or choose another --out");
            }
            ObjectNode before = (ObjectNode) Json.MAPPER.readTree(saved.toFile());
            ObjectNode now = identity();
            checkInputs(before.path("inputs"), now.path("inputs"));
            before.remove("inputs");
            now = now.deepCopy();
            now.remove("inputs");
            String diff = TrainingLoop.firstDifference(before, now);
            if (diff != null) {
                throw new UserInputException(saved + ": the settings differ from this command's (" + diff
                        + "); resume with the same settings, or choose another --out");
            }
        } else if (!PathKind.of(out).isVacant()) {
            throw new UserInputException(out + ": is " + PathKind.of(out).description() + ", not a pipeline"
                    + " directory; choose another --out");
        }
    }

    /** Runs the pipeline holding its directory's lock: a second process is refused with this one's PID. */
    public Outcome run() throws IOException {
        try (WriterLock lock = WriterLock.directory(out, "pipeline directory")) {
            return runLocked();
        }
    }

    private Outcome runLocked() throws IOException {
        Files.createDirectories(out);
        // written again on resume: the settings are the same, and the fingerprints of inputs not yet read are new
        AtomicFiles.writeString(out.resolve("pipeline.json"), Json.MAPPER.writerWithDefaultPrettyPrinter()
                .writeValueAsString(identity()) + "\n");
        state.load();
        // the plan's training runs, and task, candidates, labels, evaluation, report
        int total = plan.size() + 5 + (cfg.has("kto") ? 1 : 0);
        int n = 0;
        step(++n, total, "task", "the controlled task's files", () -> {
            PipelineConfig.Task t = cfg.task();
            PositiveStories.write(out.resolve("task"), t.trainPrompts(), t.heldoutPrompts(), t.sftTrain(), t.sftVal(),
                    PositiveStories.SEED);
            log.printf("  %d training prompts, %d held-out prompts, %d + %d SFT stories%n", t.trainPrompts(),
                    t.heldoutPrompts(), t.sftTrain(), t.sftVal());
        });
        if (!train(plan.get(0), ++n, total, true)) {
            return stopped("sft");
        }
        step(++n, total, "candidates", opts.tasks() == null ? "candidates from the SFT model"
                : "tasks from " + opts.tasks(), () -> {
            List<LabelTask> tasks;
            if (opts.tasks() == null) {
                PipelineConfig.CandidateSettings c = cfg.candidates();
                Path prompts = task().trainPrompts();
                tasks = Candidates.sample(ModelSource.of(finalModel("sft")), prompts, Candidates.readPrompts(prompts),
                        new Candidates.Sampling(c.k(), c.temperature(), c.topP(), c.maxNewTokens(), cfg.seed()),
                        kernels, log, scaleOut);
            } else {
                tasks = LabelTask.read(opts.tasks());
            }
            Files.createDirectories(out.resolve("labels"));
            Candidates.write(labels("tasks.jsonl"), tasks);
        });
        Labels.Summary labelSummary = labelsStep(++n, total);
        for (Planned r : plan.subList(1, plan.size())) {
            if (r.stage() == KTO) {
                thumbsStep(++n, total);
            }
            if (!train(r, ++n, total, labelSummary.valRankings() > 0)) {
                return stopped(r.name());
            }
        }
        List<PolicyComparison.Result> results = evaluate(++n, total);
        ObjectNode rm = rewardModelCheck(labelSummary);
        log.printf("[%d/%d] report%n", ++n, total);
        Map<String, Path> curves = new LinkedHashMap<>();
        for (Planned r : plan) {
            if (!r.name().startsWith("sweep/")) {
                curves.put(r.title(), out.resolve(r.name()));
            }
        }
        Path report = PipelineReport.write(new PipelineReport.Inputs(out, opts.configFile(), cfg, state, labelSummary,
                rm, results, kinds(), curves), log);
        return new Outcome(true, null, results, report);
    }

    private Outcome stopped(String stage) {
        log.printf("pipeline stopped at %s (cancelled); run the same command with --resume to continue%n", stage);
        return new Outcome(false, stage, List.of(), null);
    }

    @FunctionalInterface
    private interface Work {
        void run() throws IOException;
    }

    private void step(int n, int total, String name, String title, Work work) throws IOException {
        if (state.done(name)) {
            log.printf("[%d/%d] %s: done (%.0f s)%n", n, total, title, state.seconds(name));
            return;
        }
        log.printf("[%d/%d] %s%n", n, total, title);
        long t0 = System.nanoTime();
        work.run();
        state.finish(name, (System.nanoTime() - t0) / 1e9);
    }

    private Labels.Summary labelsStep(int n, int total) throws IOException {
        Path store = labels("judgments.jsonl");
        List<LabelTask> tasks = LabelTask.read(labels("tasks.jsonl"));
        Set<String> validation = Labels.validationIds(tasks, cfg.annotators().validationFraction());
        step(n, total, "labels", opts.judgments() == null ? "simulated annotators (temperature "
                + cfg.annotators().temperature() + ")" : "judgments from " + opts.judgments(), () -> {
            if (opts.judgments() == null) {
                Labels.simulate(tasks, validation, judge, cfg.annotators().temperature(), cfg.seed(), store);
            } else {
                Files.copy(opts.judgments(), store, StandardCopyOption.REPLACE_EXISTING);
            }
            Labels.Summary s = Labels.export(tasks, store, validation, judge, labels("rankings.train.jsonl"),
                    labels("rankings.val.jsonl"));
            AtomicFiles.writeString(labels("labels.json"), Json.MAPPER.writerWithDefaultPrettyPrinter()
                    .writeValueAsString(s) + "\n");
            log.printf("  %d judgments by %s; %d training and %d validation rankings; annotator agreement %s%n",
                    s.judgments(), String.join(", ", s.annotators()), s.trainRankings(), s.valRankings(),
                    s.agreement() == null ? "n/a (no task with two annotators)"
                            : String.format("%.1f%%", 100 * s.agreement()));
        });
        return Json.MAPPER.readValue(labels("labels.json").toFile(), Labels.Summary.class);
    }

    /**
     * KTO's thumbs from the same rankings (the data module's unpairing, as {@code data to-kto}): each
     * ranking's best response up and its worst down, the middle ones unused.
     */
    private void thumbsStep(int n, int total) throws IOException {
        step(n, total, "thumbs", "thumbs up and down from the rankings (best up, worst down)", () -> {
            for (String part : List.of("train", "val")) {
                Path rankings = labels("rankings." + part + ".jsonl");
                List<JsonNode> rows = new ArrayList<>();
                if (Files.size(rankings) > 0) {
                    UnpairedRecords.read(rankings).records().forEach(u -> rows.add(RecordJson.toJson(u)));
                }
                JsonlWriter.write(labels("thumbs." + part + ".jsonl"), rows);
                log.printf("  %s: %d thumbs%n", part, rows.size());
            }
        });
    }

    /** Runs (or resumes, or skips) a training run; false when it was cancelled. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private boolean train(Planned r, int n, int total, boolean withValidation) throws IOException {
        RunDirectory run = new RunDirectory(out.resolve(r.name()));
        if (state.done(r.name()) && run.status() == RunDirectory.Status.SUCCEEDED) {
            log.printf("[%d/%d] %s: done (%.0f s)%n", n, total, r.title(), state.seconds(r.name()));
            return true;
        }
        log.printf("[%d/%d] %s -> %s%n", n, total, r.title(), run.root());
        StageConfig cfg = resolve(r, withValidation);
        ScaleOut stageScale = scaleOut;
        if (scaleOut != null && cfg.training().loraDropout() > 0) {
            log.printf("  %s runs in this process: lora_dropout %s draws its masks per forward of a step;"
                    + " data-parallel steps on %s need lora_dropout 0%n", r.title(), cfg.training().loraDropout(),
                    scaleOut.cluster().master());
            stageScale = null;
        }
        long t0 = System.nanoTime();
        LoopResult result = ((Trainer) r.stage().trainer()).run(cfg, kernels, log, run.exists(), stageScale);
        double seconds = (System.nanoTime() - t0) / 1e9;
        if (result.status() != RunDirectory.Status.SUCCEEDED) {
            state.add(r.name(), seconds);
            return false;
        }
        state.finish(r.name(), state.seconds(r.name()) + seconds);
        return true;
    }

    private Map<String, String> kinds() {
        Map<String, String> m = new LinkedHashMap<>();
        for (Planned r : plan) {
            if (r.policyKind() != null) {
                m.put(policyName(r), r.policyKind());
            }
        }
        cfg.extraPolicies().keySet().forEach(k -> m.put(k, "other"));
        return m;
    }

    private static String policyName(Planned r) {
        return r.name().replace("sweep/", "");
    }

    private List<PolicyComparison.Result> evaluate(int n, int total) throws IOException {
        Map<String, Path> policies = new LinkedHashMap<>();
        for (Planned r : plan) {
            if (r.policyKind() != null) {
                policies.put(policyName(r), finalModel(r.name()));
            }
        }
        cfg.extraPolicies().forEach((k, v) -> policies.put(k, Path.of(v)));
        String key = "eval:" + String.join(",", policies.keySet());
        Path comparison = out.resolve("eval").resolve("comparison.json");
        if (state.done(key) && Files.exists(comparison)) {
            log.printf("[%d/%d] evaluation: done (%.0f s)%n", n, total, state.seconds(key));
            return PolicyComparison.fromJson(Json.MAPPER.readTree(comparison.toFile()));
        }
        PipelineConfig.Eval e = cfg.eval();
        log.printf("[%d/%d] evaluation of %d policies on the held-out prompts%n", n, total, policies.size());
        long t0 = System.nanoTime();
        PolicyComparison c = new PolicyComparison(finalModel("sft"), judge, finalModel("reward"), e.maxNewTokens(),
                e.seed(), kernels).scaleOut(scaleOut);
        List<PolicyComparison.Result> results = c.compare(PromptSource.read(task().heldOutPrompts()), policies,
                out.resolve("eval"), e.batchSize(), log);
        AtomicFiles.writeString(comparison, Json.MAPPER.writerWithDefaultPrettyPrinter()
                .writeValueAsString(PolicyComparison.toJson(results)) + "\n");
        double seconds = (System.nanoTime() - t0) / 1e9;
        state.finish(key, seconds);
        state.finish("eval", seconds);
        return results;
    }

    /**
     * The reward model's pairwise accuracy on the validation tasks against the annotators' labels
     * and against the gold judge, next to the annotators' own agreement (the ceiling).
     */
    private ObjectNode rewardModelCheck(Labels.Summary labels) throws IOException {
        Path file = out.resolve("eval").resolve("reward_model.json");
        List<LabelTask> tasks = LabelTask.read(labels("tasks.jsonl"));
        Set<String> validation = Labels.validationIds(tasks, cfg.annotators().validationFraction());
        RewardScorer scorer = RewardScorer.load(finalModel("reward"), kernels);
        ObjectNode o = Labels.rewardAccuracy(scorer, tasks.stream().filter(t -> validation.contains(t.id())).toList(),
                labels("judgments.jsonl"), judge);
        o.set("annotator_agreement", Json.MAPPER.valueToTree(labels.agreement()));
        o.put("annotator_agreement_comparisons", labels.agreementComparisons());
        o.set("annotator_judge_agreement", Json.MAPPER.valueToTree(labels.annotatorJudgeAgreement()));
        AtomicFiles.writeString(file, Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(o) + "\n");
        return o;
    }
}
