package org.align4j.dpo;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.checkpoint.ModelSource;
import org.align4j.core.generate.Generation;
import org.align4j.core.generate.Generator;
import org.align4j.core.generate.SamplingConfig;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.loss.SequenceLogProbs;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.run.RunDirectory;
import org.align4j.core.tokenizer.SpecialTokens;
import org.align4j.core.util.Json;
import org.align4j.core.util.UserInputException;
import org.align4j.data.batch.Collator;
import org.align4j.data.batch.Example;
import org.align4j.data.batch.ExampleEncoder;
import org.align4j.data.batch.TrainingBatch;
import org.align4j.data.format.Content;
import org.align4j.data.format.Dataset;
import org.align4j.data.format.PromptSource;
import org.align4j.data.jsonl.JsonlWriter;
import org.align4j.train.Judge;
import org.align4j.train.LoopResult;
import org.align4j.train.Metrics;
import org.align4j.train.Objective;
import org.align4j.train.PromptBatch;
import org.align4j.train.ReferenceCache;
import org.align4j.train.StageConfig;
import org.align4j.train.TrainingData;
import org.align4j.train.TrainingLoop;
import org.align4j.train.TrainingOptions;
import org.align4j.train.scale.Replica;
import org.align4j.train.scale.ScaleOut;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Online DPO (TRL's {@code OnlineDPOTrainer}) on the shared {@link TrainingLoop}. A step takes
 * {@code batch_size x grad_accum} prompts, samples two responses to each from the current policy
 * (seeded by the run's seed and the step, so a resumed run samples the same responses), asks the
 * {@link Judge} for their scores, takes the better as chosen (a tie chooses the first sample, TRL's
 * {@code first >= second}), and makes one update with the {@link DpoLoss} of those pairs against the
 * frozen reference, whose log-probabilities are computed live (the samples change every step, so
 * the offline reference cache does not apply). Log-probabilities are at temperature 1, as TRL's.
 * Metrics: the DPO ones, and the sampled ones under TRL's names ({@code objective/scores},
 * {@code objective/kl}, {@code objective/entropy}, ...). With {@code --val} (preference pairs),
 * validation is offline DPO's loss on them.
 *
 * <p>With {@code --spark-master} the samples are drawn on the executors' replicas holding the step's
 * weights, each record from its own generator (seeded by the step and its place in the rollout, as
 * in one process, so its tokens do not depend on the slice it is drawn in); the judge scores them
 * on the driver; each micro-batch's pairs run their reference pass, forward and backward on an
 * executor, the gradients summed in micro-batch order; the driver applies the update.
 */
public final class OnlineDpoTrainer implements Objective {

    private final StageConfig<DpoOptions> cfg;
    private final TrainingOptions opts;
    private final DpoOptions dpo;
    private final DpoLoss.Settings loss;
    private final PrintStream log;
    private final Path modelDir;
    private final Path runDir;
    private final DecoderModel policy;
    private final SequenceLogProbs policyLogProbs;
    private final SequenceLogProbs refLogProbs;
    private final ExampleEncoder enc;
    private final Generator generator;
    private final Set<Integer> stops;
    private final Collator collator;
    private final Judge judge;
    private final List<int[]> prompts = new ArrayList<>();
    private final List<String> promptTexts = new ArrayList<>();
    private final List<JsonNode> items = new ArrayList<>();
    private final List<PreferencePair> val;
    private final double[][] valRef;
    private long iteration;
    private long episodes;

    /** {@code judgeLoader} null: an executor's replica, which samples and computes gradients but never judges. */
    private OnlineDpoTrainer(StageConfig<DpoOptions> cfg, Judge.Loader judgeLoader, Kernels kernels, PrintStream log)
            throws IOException {
        this.cfg = cfg;
        this.opts = cfg.training();
        this.dpo = cfg.stage();
        this.loss = dpo.lossSettings();
        this.log = log;
        this.modelDir = Path.of(opts.model());
        this.runDir = opts.outputDir() == null ? null : Path.of(opts.outputDir()); // none on a replica
        boolean fromTrain = dpo.prompts() == null;
        Path file = Path.of(fromTrain ? opts.trainFile() : dpo.prompts());
        List<PromptSource.Prompt> records = PromptSource.readItems(file);
        if (fromTrain) {
            for (PromptSource.Prompt r : records) {
                if (r.item().has("chosen") || r.item().has("responses")) {
                    throw new UserInputException(file + ":" + r.line() + ": a preference pair, but --online samples"
                            + " its own pairs: give --train prompt records ({\"prompt\"} or {\"messages\"}), or"
                            + " leave out --online to learn from these pairs");
                }
            }
        }
        this.judge = judgeLoader == null ? null : judgeLoader.load();
        for (PromptSource.Prompt r : records) {
            String lacks = judge == null ? null : judge.lacks(r.item());
            if (lacks != null) {
                throw new UserInputException(file + ":" + r.line() + ": lacks " + lacks + ", which the judge "
                        + judge.describe() + " reads");
            }
        }
        Dataset valData = opts.valFile() == null ? null : TrainingData.read(opts, opts.valFile(), "validation",
                DpoTrainer.KINDS, log);
        this.policy = opts.source().load(kernels, DataType.FLOAT, opts.setup(false));
        // with --lora-r (and no --ref-model) the reference is the policy with this run's adapters off
        boolean adaptersOff = opts.lora() != null && dpo.refModel() == null;
        DecoderModel reference = adaptersOff ? null : (dpo.refModel() != null
                ? ModelSource.of(Path.of(dpo.refModel())) : opts.source()).load(kernels, DataType.FLOAT, false);
        this.enc = ExampleEncoder.forModel(modelDir, policy.config().eosTokenId());
        // sampling, the training forward and the reference see the same (tokenizer-sized) distribution
        policy.limitVocabulary(enc.tokenizer());
        if (reference != null) {
            reference.limitVocabulary(enc.tokenizer());
        }
        this.policyLogProbs = new SequenceLogProbs(policy);
        this.refLogProbs = reference == null ? null : new SequenceLogProbs(reference);
        this.stops = SpecialTokens.stops(enc.tokenizer(), enc.eosTokenId());
        this.generator = new Generator(policy);
        int maxLength = opts.sequenceLength(policy);
        int keep = maxLength - dpo.maxNewTokens();
        if (keep < 1) {
            throw new UserInputException("--max-new-tokens " + dpo.maxNewTokens() + " leaves no room for a prompt in"
                    + (maxLength < policy.config().contextLength() ? " --max-length " + maxLength
                    : " the model's context of " + maxLength + " tokens"));
        }
        this.collator = new Collator(maxLength, opts.truncation(), enc.eosTokenId());
        int cut = 0;
        for (PromptSource.Prompt r : records) {
            Content c = r.content();
            items.add(r.item());
            int[] ids = enc.promptIds(c);
            int from = opts.truncation().start(ids.length, keep);
            cut += ids.length > keep ? 1 : 0;
            prompts.add(ids.length > keep ? Arrays.copyOfRange(ids, from, from + keep) : ids);
            promptTexts.add(c instanceof Content.Text t ? t.text() : enc.tokenizer().decode(ids));
        }
        log.printf("prompts: %s, %d (%d cut to %d tokens, %s truncation); two samples each per step%n", file,
                prompts.size(), cut, keep, opts.truncation());
        if (judge != null) {
            log.println("judge: " + judge.describe() + "; ties choose the first sample (TRL's rule)");
        }
        if (valData != null) {
            this.val = DpoTrainer.pairs(valData, enc, collator, log);
            this.valRef = new double[val.size()][];
            for (int start = 0; start < val.size(); start += opts.batchSize()) {
                int[] idx = IntStream.range(start, Math.min(val.size(), start + opts.batchSize())).toArray();
                TrainingBatch b = DpoTrainer.batch(val, idx, collator).batch();
                double[] r = reference(b);
                for (int k = 0; k < idx.length; k++) {
                    valRef[idx[k]] = new double[] {r[2 * k], r[2 * k + 1]};
                }
            }
        } else {
            this.val = null;
            this.valRef = null;
        }
    }

    /** Trains as configured, asking {@code judge} to pick each pair; {@code resume} continues the run. */
    public static LoopResult run(StageConfig<DpoOptions> cfg, Judge.Loader judge, Kernels kernels, PrintStream log,
                                 boolean resume) throws IOException {
        return run(cfg, judge, kernels, log, resume, null);
    }

    /**
     * As {@link #run(StageConfig, Judge.Loader, Kernels, PrintStream, boolean)}, sampling and each
     * update's gradient on {@code scaleOut} (null: in this process).
     */
    public static LoopResult run(StageConfig<DpoOptions> cfg, Judge.Loader judge, Kernels kernels, PrintStream log,
                                 boolean resume, ScaleOut scaleOut) throws IOException {
        if (!cfg.stage().online()) {
            throw new IllegalArgumentException("offline DPO runs through DpoTrainer.run");
        }
        DpoTrainer.check(cfg);
        ReferenceCache.checkModels(Path.of(cfg.training().model()), cfg.stage().refModel());
        return new TrainingLoop(cfg.training(), cfg.toJson(), log).scaleOut(scaleOut)
                .run(() -> new OnlineDpoTrainer(cfg, judge, kernels, log), resume);
    }

    /**
     * An executor's copy: the same settings load the same policy and reference (the policy with its
     * adapters off under --lora-r); no judge, no validation: it samples and computes gradients.
     */
    private static Objective replicaOf(ObjectNode settings, Kernels kernels) throws IOException {
        return new OnlineDpoTrainer(StageConfig.read(settings, DpoOptions.class), null, kernels,
                new PrintStream(OutputStream.nullOutputStream()));
    }

    @Override
    public Replica replica() {
        return Replica.of(cfg.toJson(), OnlineDpoTrainer::replicaOf, "prompts", "ref_model");
    }

    /** The reference's summed log-probabilities of a batch's sequences (no gradient). */
    private double[] reference(TrainingBatch b) {
        if (refLogProbs != null) {
            return refLogProbs.forward(b.inputs(), b.targets(), b.lossMask())[0];
        }
        policy.setAdaptersEnabled(false);
        try {
            return policyLogProbs.forward(b.inputs(), b.targets(), b.lossMask())[0];
        } finally {
            policy.setAdaptersEnabled(true);
        }
    }

    /** A judged pair: the indices of its chosen and rejected samples among the step's 2n, and its loss. */
    record Judged(int chosen, int rejected, DpoLoss.Pair pair) {
    }

    /**
     * The pairs of {@code n} prompts from their 2n samples in TRL's layout (sample {@code k} and
     * {@code k + n} answer prompt {@code k}): the higher score is chosen, a tie chooses sample
     * {@code k}; each pair's loss from the policy's and the reference's summed log-probabilities
     * and the token counts of its samples.
     */
    static List<Judged> judge(DpoLoss.Settings s, double[] scores, double[] logps, double[] refs, double[] counts) {
        int n = scores.length / 2;
        List<Judged> out = new ArrayList<>(n);
        for (int k = 0; k < n; k++) {
            boolean first = scores[k] >= scores[k + n];
            int c = first ? k : k + n;
            int r = first ? k + n : k;
            out.add(new Judged(c, r, DpoLoss.pair(s, logps[c], logps[r], refs[c], refs[r], counts[c], counts[r])));
        }
        return out;
    }

    @Override
    public List<Trainee> trainees() {
        return List.of(new Trainee("model", policy, modelDir));
    }

    @Override
    public int[] trainLengths() {
        return PromptBatch.lengths(prompts);
    }

    @Override
    public MicroBatch prepare(int[] examples) {
        return PromptBatch.of(examples, prompts);
    }

    @Override
    public boolean ownsStep() {
        return true;
    }

    @Override
    public void forwardBackward(MicroBatch batch, double scale, Metrics metrics) {
        throw new IllegalStateException("online DPO owns its step");
    }

    @Override
    public void step(List<MicroBatch> batches, Updater updater, Metrics m) {
        iteration++;
        long t0 = System.nanoTime();
        int[] idx = batches.stream().flatMapToInt(b -> Arrays.stream(((PromptBatch) b).indices())).toArray();
        int n = idx.length;
        // 1. two samples per prompt, TRL's layout: every prompt once, then every prompt again
        List<int[]> rollout = new ArrayList<>(2 * n);
        for (int r = 0; r < 2; r++) {
            for (int i : idx) {
                rollout.add(prompts.get(i));
            }
        }
        // sampled where the updater says (the executors' replicas with --spark-master): each record draws
        // from its own generator, so its tokens do not depend on the run of records it is sampled in
        List<RolloutPrompt> records = new ArrayList<>(2 * n);
        for (int b = 0; b < 2 * n; b++) {
            records.add(new RolloutPrompt(b, rollout.get(b)));
        }
        List<Rolled> gens = updater.map(records, new Sampled(opts.seed() * 1_000_003L + iteration));
        int[][] tokens = new int[2 * n][];
        boolean[] ended = new boolean[2 * n];
        List<Judge.Response> responses = new ArrayList<>(2 * n);
        long generated = 0;
        for (int b = 0; b < 2 * n; b++) {
            Rolled g = gens.get(b);
            // the stop token is part of the response the loss trains (TRL's completion mask covers it)
            tokens[b] = g.tokens().length > 0 ? g.tokens() : new int[] {enc.eosTokenId()};
            ended[b] = g.ended();
            generated += g.tokens().length;
            int[] body = g.ended() ? Arrays.copyOf(g.tokens(), g.tokens().length - 1) : g.tokens();
            responses.add(new Judge.Response(items.get(idx[b % n]), rollout.get(b), body,
                    enc.tokenizer().decode(body)));
        }
        double rolloutSeconds = (System.nanoTime() - t0) / 1e9;
        // 2. the judge's scores; TRL subtracts missing_eos_penalty from a response that never ended
        long t1 = System.nanoTime();
        List<Judge.Score> graded = judge.score(responses);
        double[] scores = new double[2 * n];
        int errors = 0;
        String firstError = null;
        for (int b = 0; b < 2 * n; b++) {
            scores[b] = graded.get(b).value();
            if (dpo.missingEosPenalty() != null && !ended[b]) {
                scores[b] -= dpo.missingEosPenalty();
            }
            if (graded.get(b).error() != null) {
                errors++;
                firstError = firstError == null ? graded.get(b).error() : firstError;
            }
        }
        if (errors > 0) {
            log.printf("step %d: the judge failed on %d of %d samples (scored 0), first: %s%n", iteration, errors,
                    2 * n, firstError);
        }
        double scoringSeconds = (System.nanoTime() - t1) / 1e9;
        // 3. the pairs' DPO loss, in micro-batches of --batch-size pairs, one update for the step: each
        // micro-batch's reference pass, forward and backward where the updater says (with --spark-master on
        // the executors' replicas), the gradients summed in micro-batch order
        long t2 = System.nanoTime();
        List<PairShard> shards = new ArrayList<>(batches.size());
        int offset = 0;
        for (MicroBatch mb : batches) {
            int size = ((PromptBatch) mb).indices().length;
            // the micro-batch's sequences: its prompts' first samples, then their second samples
            int[] rows = new int[2 * size];
            int[][] shardPrompts = new int[2 * size][];
            int[][] shardResponses = new int[2 * size][];
            double[] shardScores = new double[2 * size];
            for (int h = 0; h < 2; h++) {
                for (int k = 0; k < size; k++) {
                    int b = h * n + offset + k;
                    int j = h * size + k;
                    rows[j] = b;
                    shardPrompts[j] = rollout.get(b);
                    shardResponses[j] = tokens[b];
                    shardScores[j] = scores[b];
                }
            }
            shards.add(new PairShard(rows, shardPrompts, shardResponses, shardScores, n));
            offset += size;
        }
        Metrics perRow = new Metrics();
        updater.gradients(shards, OnlineDpoTrainer::pairGradient, perRow);
        updater.apply();
        // what the forwards read, row by row; the pairs judged again from it, in the same order, for the metrics
        Map<String, Double> read = perRow.values();
        double[] logps = new double[2 * n];
        double[] refs = new double[2 * n];
        double[] counts = new double[2 * n];
        for (int b = 0; b < 2 * n; b++) {
            logps[b] = read.get(LOGP + b);
            refs[b] = read.get(REF + b);
            counts[b] = read.get(COUNT + b);
        }
        List<Judged> pairs = new ArrayList<>(n);
        for (PairShard sh : shards) {
            int w = sh.rows().length;
            double[] micro = new double[w];
            double[] microRef = new double[w];
            double[] microCounts = new double[w];
            for (int j = 0; j < w; j++) {
                micro[j] = logps[sh.rows()[j]];
                microRef[j] = refs[sh.rows()[j]];
                microCounts[j] = counts[sh.rows()[j]];
            }
            for (Judged p : judge(loss, sh.scores(), micro, microRef, microCounts)) {
                DpoTrainer.record(m, p.pair(), micro[p.chosen()], micro[p.rejected()]);
                pairs.add(new Judged(sh.rows()[p.chosen()], sh.rows()[p.rejected()], p.pair()));
            }
        }
        double updateSeconds = (System.nanoTime() - t2) / 1e9;
        episodes += 2L * n;
        // the sampled side, TRL's names: KL and entropy of the sampled sequences (sums over their tokens)
        double beta = loss.beta();
        double kl = 0;
        double entropy = 0;
        double score = 0;
        int ends = 0;
        for (int b = 0; b < 2 * n; b++) {
            kl += logps[b] - refs[b];
            entropy -= logps[b];
            score += scores[b];
            ends += ended[b] ? 1 : 0;
        }
        double margin = 0;
        for (Judged p : pairs) {
            margin += scores[p.chosen()] - scores[p.rejected()];
        }
        m.mean("objective/scores", score, 2 * n);
        m.mean("objective/scores_margin", margin, n);
        m.mean("objective/kl", kl, 2 * n);
        m.mean("objective/entropy", entropy, 2 * n);
        m.mean("objective/non_score_reward", -beta * kl, 2 * n);
        m.mean("objective/rlhf_reward", score - beta * kl, 2 * n);
        m.mean("val/contain_eos_token", ends, 2 * n);
        m.total("objective/judge_errors", errors);
        m.total("beta", beta);
        m.total("episode", episodes);
        m.total("response_length", (double) generated / (2 * n));
        m.total("time/rollout", rolloutSeconds);
        m.total("time/scoring", scoringSeconds);
        m.total("time/update", updateSeconds);
        m.total("rollout_tokens_per_s", generated / rolloutSeconds);
        writeSamples(idx, rollout, tokens, responses, scores, logps, refs, pairs);
    }

    /** Record {@code record} of a step's rollout (sample {@code record} in TRL's layout): its prompt. */
    private record RolloutPrompt(long record, int[] prompt) implements Serializable {
    }

    /** A sampled response: its tokens and whether it ended with a stop token. */
    private record Rolled(int[] tokens, boolean ended) implements Serializable {
    }

    /** Samples a run of consecutive rollout records with the policy as it is, from the step's seed. */
    private record Sampled(long seed) implements ReplicaWork<RolloutPrompt, Rolled> {
        @Override
        public List<Rolled> run(Objective objective, List<RolloutPrompt> records) {
            return ((OnlineDpoTrainer) objective).sample(records, seed);
        }
    }

    private List<Rolled> sample(List<RolloutPrompt> records, long seed) {
        SamplingConfig sampling = new SamplingConfig(dpo.maxNewTokens(), dpo.temperature(), 0, 1.0, seed, 0, stops,
                List.of());
        List<Generation> gens = generator.generate(records.stream().map(RolloutPrompt::prompt).toList(), sampling,
                enc.tokenizer()::decode, records.isEmpty() ? 0 : records.get(0).record());
        List<Rolled> out = new ArrayList<>(gens.size());
        for (Generation g : gens) {
            out.add(new Rolled(g.tokenIds(), g.endedWith(stops)));
        }
        return out;
    }

    /**
     * A micro-batch's pairs: its sequences in TRL's layout (the prompts' first samples, then their
     * second), each one's row among the step's 2n samples and its score, and the step's pair count,
     * which every micro-batch's gradient is divided by.
     */
    private record PairShard(int[] rows, int[][] prompts, int[][] responses, double[] scores, int pairs)
            implements Serializable {
    }

    /**
     * The per-row values a micro-batch's forwards read travel back as totals under these names
     * (a gradient's work returns only gradients and metrics): the policy's and the reference's summed
     * log-probabilities and the response's token count, which the driver's metrics and samples read.
     */
    private static final String LOGP = "row logp ";
    private static final String REF = "row ref ";
    private static final String COUNT = "row count ";

    /** A micro-batch's work, on the run's objective or an executor's replica of it. */
    private static void pairGradient(Objective objective, PairShard shard, Metrics perRow) {
        ((OnlineDpoTrainer) objective).pairGradient(shard, perRow);
    }

    /**
     * The reference pass, the policy's forward and the backward of a micro-batch's DPO loss (each pair's
     * over the step's pair count); adds every row's log-probabilities and token count to {@code perRow}.
     */
    private void pairGradient(PairShard s, Metrics perRow) {
        int w = s.rows().length;
        List<Example> ex = new ArrayList<>(w);
        for (int j = 0; j < w; j++) {
            ex.add(ExampleEncoder.promptAndCompletion(s.prompts()[j], s.responses()[j]));
        }
        TrainingBatch tb = collator.collate(ex);
        double[] ref = reference(tb);
        double[][] lp = policyLogProbs.forward(tb.inputs(), tb.targets(), tb.lossMask());
        double[] d = new double[w];
        for (Judged p : judge(loss, s.scores(), lp[0], ref, lp[1])) {
            d[p.chosen()] = p.pair().dChosen() / s.pairs();
            d[p.rejected()] = p.pair().dRejected() / s.pairs();
        }
        for (int j = 0; j < w; j++) {
            perRow.total(LOGP + s.rows()[j], lp[0][j]);
            perRow.total(REF + s.rows()[j], ref[j]);
            perRow.total(COUNT + s.rows()[j], lp[1][j]);
        }
        policyLogProbs.backward(d);
    }

    /** samples/step-N.jsonl: one row per pair with what the loss read, so a step can be checked by hand. */
    private void writeSamples(int[] idx, List<int[]> rollout, int[][] tokens, List<Judge.Response> responses,
                              double[] scores, double[] logps, double[] refs, List<Judged> pairs) {
        int every = dpo.sampleEvery() > 0 ? dpo.sampleEvery() : opts.saveEvery() > 0 ? opts.saveEvery() : 10;
        if (iteration % every != 0) {
            return;
        }
        int n = idx.length;
        List<ObjectNode> rows = new ArrayList<>();
        for (Judged p : pairs) {
            ObjectNode o = Json.MAPPER.createObjectNode();
            o.put("prompt", promptTexts.get(idx[p.chosen() % n]));
            Arrays.stream(rollout.get(p.chosen())).forEach(o.putArray("prompt_tokens")::add);
            for (String side : List.of("chosen", "rejected")) {
                int b = side.equals("chosen") ? p.chosen() : p.rejected();
                o.put(side, responses.get(b).text());
                Arrays.stream(tokens[b]).forEach(o.putArray(side + "_tokens")::add);
                o.put(side + "_score", scores[b]);
                o.put(side + "_logp", logps[b]);
                o.put(side + "_ref_logp", refs[b]);
            }
            o.put("loss", p.pair().loss());
            rows.add(o);
        }
        try {
            Path dir = runDir.resolve("samples");
            Files.createDirectories(dir);
            JsonlWriter.write(dir.resolve("step-" + iteration + ".jsonl"), rows);
        } catch (IOException e) {
            log.println("could not write samples of step " + iteration + ": " + e.getMessage());
        }
    }

    @Override
    public boolean hasValidation() {
        return val != null;
    }

    @Override
    public Map<String, Double> evaluate() {
        return Metrics.inBatches(val.size(), opts.batchSize(), (idx, m) -> {
            TrainingBatch b = DpoTrainer.batch(val, idx, collator).batch();
            double[][] lp = policyLogProbs.forward(b.inputs(), b.targets(), b.lossMask());
            for (int k = 0; k < idx.length; k++) {
                double[] r = valRef[idx[k]];
                DpoLoss.Pair p = DpoLoss.pair(loss, lp[0][2 * k], lp[0][2 * k + 1], r[0], r[1], lp[1][2 * k],
                        lp[1][2 * k + 1]);
                DpoTrainer.record(m, p, lp[0][2 * k], lp[0][2 * k + 1]);
            }
        });
    }

    @Override
    public BestMetric bestMetric() {
        // with preference pairs to validate on, as offline DPO; the judge's score otherwise has no held-out set
        return new BestMetric("loss", false);
    }

    @Override
    public JsonNode state() {
        return Json.MAPPER.createObjectNode().put("iteration", iteration).put("episode", episodes);
    }

    @Override
    public void restore(JsonNode state) {
        iteration = state.path("iteration").asLong();
        episodes = state.path("episode").asLong();
    }

    @Override
    public void finish(RunDirectory run, PrintStream out) {
        out.println("policy in " + run.finalDir());
    }
}
