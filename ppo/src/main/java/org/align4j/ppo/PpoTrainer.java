package org.align4j.ppo;

import java.io.IOException;
import java.io.OutputStream;
import java.io.Serializable;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.checkpoint.ModelKind;
import org.align4j.core.checkpoint.ModelSource;
import org.align4j.core.checkpoint.PeftAdapter;
import org.align4j.core.generate.Generation;
import org.align4j.core.generate.Generator;
import org.align4j.core.generate.SamplingConfig;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.loss.LanguageModelLoss;
import org.align4j.core.loss.SequenceLogProbs;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.model.ScoreHead;
import org.align4j.core.model.TokenBatch;
import org.align4j.core.run.RunDirectory;
import org.align4j.core.tokenizer.SpecialTokens;
import org.align4j.core.tokenizer.TokenizerFiles;
import org.align4j.core.util.Json;
import org.align4j.core.util.UserInputException;
import org.align4j.data.batch.Collator;
import org.align4j.data.batch.Example;
import org.align4j.data.batch.ExampleEncoder;
import org.align4j.data.batch.TrainingBatch;
import org.align4j.data.format.Content;
import org.align4j.data.format.DataRecord;
import org.align4j.data.format.Dataset;
import org.align4j.data.format.PromptSource;
import org.align4j.data.format.RecordKind;
import org.align4j.data.jsonl.JsonlWriter;
import org.align4j.ppo.algos.AdvantageEstimator;
import org.align4j.ppo.algos.AdvantageEstimators;
import org.align4j.ppo.algos.Dapo;
import org.align4j.ppo.algos.PolicyObjective;
import org.align4j.reward.RewardScorer;
import org.align4j.reward.RewardStats;
import org.align4j.reward.grader.Grader;
import org.align4j.reward.grader.GraderInput;
import org.align4j.reward.grader.GraderParser;
import org.align4j.reward.grader.GraderRunner;
import org.align4j.train.LoopResult;
import org.align4j.train.Metrics;
import org.align4j.train.Objective;
import org.align4j.train.PromptBatch;
import org.align4j.train.StageConfig;
import org.align4j.train.TrainingData;
import org.align4j.train.TrainingLoop;
import org.align4j.train.TrainingOptions;
import org.align4j.train.scale.Replica;
import org.align4j.train.scale.ScaleOut;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Stage 3 on the shared {@link TrainingLoop}: PPO (with a critic and GAE), PPO-ptx, and the
 * critic-free RLOO and GRPO. One step is one iteration: roll the policy out on a batch of prompts
 * with the KV-cache sampler, score the responses (a reward model, normalised with its stored
 * statistics, or a programmatic reward), shape per-token rewards with the KL to the frozen
 * reference, estimate advantages, and make {@code ppo_epochs x mini_batches} clipped updates.
 * Before the first update the sampler's log-probabilities are checked against a training forward;
 * a mismatch stops the run naming the largest difference. Sampling and shuffling seeds derive from
 * the run's seed and the iteration, so a resumed run repeats the same rollouts.
 */
public final class PpoTrainer implements Objective {

    private final StageConfig<PpoOptions> cfg;
    private final TrainingOptions opts;
    private final PpoOptions ppo;
    private final PrintStream log;
    private final Path modelDir;
    private final Path runDir;
    private final DecoderModel policy;
    private final DecoderModel value;
    private final Path valueSource;
    private final SequenceLogProbs policyLogProbs;
    private final SequenceLogProbs refLogProbs;
    private final ScoreHead valueHead;
    private final ExampleEncoder enc;
    private final Generator generator;
    private final Set<Integer> stops;
    private final RewardScorer scorer;
    private final RewardStats stats;
    private final GraderRunner grader;
    private final List<int[]> prompts = new ArrayList<>();
    private final List<String> promptTexts = new ArrayList<>();
    /** Each prompt's whole record, which a grader's {{item.FIELD}} reads. */
    private final List<JsonNode> items = new ArrayList<>();
    private final List<Example> ptx;
    private final Collator ptxCollator;
    private final KlController kl;
    /** The loss matrix: --loss-type's preset with the given settings over it. */
    private final PpoOptions.Losses losses;
    private long iteration;
    private long episodes;
    /** Iterations that made at least one update: a run with none trained on nothing and fails. */
    private long updatedIterations;

    /** One response and everything its updates need, per response token. */
    private static final class Sample {
        int prompt;
        int[] promptIds;
        int[] response;
        boolean ended;
        double score;
        double[] old;
        double[] ref;
        double[] values;
        double[] kl;
        /** DAPO's overlong punishment, already in {@link #score}. */
        double overlong;
        double[] samplerLogprobs;
        /** Tokens the sampler produced (0 for an empty response, which trains on one pad token). */
        int generated;
        double[] advantages;
        double[] returns;
        String responseText;
        String graderError;
        Map<String, Double> graderParts = Map.of();
    }

    private PpoTrainer(StageConfig<PpoOptions> cfg, Kernels kernels, PrintStream log) throws IOException {
        this.cfg = cfg;
        this.opts = cfg.training();
        this.ppo = cfg.stage();
        this.losses = ppo.losses();
        this.log = log;
        this.modelDir = Path.of(opts.model());
        // an executor's replica has no run directory: it samples, scores, passes and computes gradients, and writes nothing
        this.runDir = opts.outputDir() == null ? null : Path.of(opts.outputDir());
        List<PromptSource.Prompt> records = PromptSource.readItems(Path.of(ppo.prompts()));
        // a grader file and the prompts' fields are checked before any model is loaded
        Grader g = ppo.rewardModel() != null ? null : grader(ppo, records, kernels);
        this.policy = opts.source().load(kernels, DataType.FLOAT, opts.setup(false));
        // with --lora-r the reference is the policy with the adapters this run created switched off: no
        // second copy of the weights. Adapters it loaded (--model an adapter directory) are part of the
        // starting model, so the reference is then a frozen copy of that model, adapters on.
        DecoderModel reference = opts.lora() != null ? null : opts.source().load(kernels, DataType.FLOAT, false);
        this.policyLogProbs = new SequenceLogProbs(policy);
        this.refLogProbs = reference == null ? null : new SequenceLogProbs(reference);
        this.enc = ExampleEncoder.forModel(modelDir, policy.config().eosTokenId());
        // sampling, the training forward and the reference see the same (tokenizer-sized) distribution
        policy.limitVocabulary(enc.tokenizer());
        if (reference != null) {
            reference.limitVocabulary(enc.tokenizer());
        }
        this.stops = SpecialTokens.stops(enc.tokenizer(), enc.eosTokenId());
        this.generator = new Generator(policy);
        // a prompt and its response fit in --max-length (the context when 0), cut by --truncation as every stage does
        int maxLength = opts.sequenceLength(policy);
        int keep = maxLength - ppo.maxNewTokens();
        if (keep < 1) {
            throw new UserInputException("--max-new-tokens " + ppo.maxNewTokens() + " leaves no room for a prompt in"
                    + (maxLength < policy.config().contextLength() ? " --max-length " + maxLength
                    : " the model's context of " + maxLength + " tokens"));
        }
        int cut = 0;
        for (PromptSource.Prompt record : records) {
            Content c = record.content();
            items.add(record.item());
            int[] ids = enc.promptIds(c);
            int from = opts.truncation().start(ids.length, keep);
            cut += ids.length > keep ? 1 : 0;
            prompts.add(ids.length > keep ? Arrays.copyOfRange(ids, from, from + keep) : ids);
            promptTexts.add(c instanceof Content.Text t ? t.text() : enc.tokenizer().decode(ids));
        }
        log.printf("prompts: %s, %d (%d cut to %d tokens, %s truncation)%n", ppo.prompts(), prompts.size(), cut, keep,
                opts.truncation());
        if (ppo.rewardModel() != null) {
            this.scorer = RewardScorer.load(Path.of(ppo.rewardModel()), kernels);
            this.stats = ppo.normalizeReward() ? RewardStats.read(Path.of(ppo.rewardModel())) : null;
            this.grader = null;
            log.println("reward: " + ppo.rewardModel() + (stats == null ? " (scores not normalised)"
                    : String.format(" (normalised with its mean %.4f, std %.4f)", stats.mean(), stats.std())));
        } else {
            this.scorer = null;
            this.stats = null;
            this.grader = new GraderRunner(g, ppo.graderConcurrency());
            log.println("reward: " + (ppo.grader() != null ? ppo.grader() + ": " + g.name() : ppo.rewardFn()) + ": "
                    + g.describe());
        }
        if (ppo.criticFree()) {
            this.value = null;
            this.valueSource = null;
            this.valueHead = null;
            log.println("--estimator " + ppo.estimator() + ": no value model");
        } else {
            ModelSource from = ppo.valueModel() != null || ppo.rewardModel() != null ? ModelSource.of(Path.of(
                    ppo.valueModel() != null ? ppo.valueModel() : ppo.rewardModel())) : opts.source();
            this.valueSource = from.tokenizerDir();
            // with LoRA the value model is the reward model (or --model) with adapters of its own and
            // its head trained: its base weights are frozen, so no optimizer state for them
            ModelDirectory.Setup s = opts.setup(true);
            boolean adapter = from.adapter() != null || PeftAdapter.isAdapter(from.model());
            this.value = from.load(kernels, DataType.FLOAT, new ModelDirectory.Setup(true, s.trainable(),
                    adapter ? null : s.lora(), s.seed() + 1, s.quantize()));
            this.valueHead = new ScoreHead(value);
            log.println("value model initialised from " + from + (from.hasScoreHead() ? ""
                    : " (head at zero)"));
        }
        if (ppo.ptxData() != null) {
            Dataset d = Dataset.read(Path.of(ppo.ptxData()), null, opts.skipBadRecords(), Set.of(RecordKind.TEXT,
                    RecordKind.COMPLETION, RecordKind.CHAT), TrainingData.SKIP_OPTION);
            this.ptx = new ArrayList<>();
            for (DataRecord r : d.records()) {
                ptx.add(enc.encode(r));
            }
            this.ptxCollator = new Collator(maxLength, opts.truncation(), enc.eosTokenId());
            log.printf("PPO-ptx: %d records of %s, coefficient %s%n", ptx.size(), ppo.ptxData(), ppo.ptxCoef());
        } else {
            this.ptx = null;
            this.ptxCollator = null;
        }
        this.kl = new KlController(ppo.klCoef(), ppo.targetKl(), ppo.klHorizon());
    }

    /** The grader of --grader or --reward-fn, once every prompt record holds what it reads (else every sample of it would score 0). */
    private static Grader grader(PpoOptions ppo, List<PromptSource.Prompt> records, Kernels kernels) throws IOException {
        Grader g = ppo.grader() != null ? GraderParser.read(Path.of(ppo.grader()), dir -> RewardScorer.load(dir, kernels))
                : GraderParser.rewardFn(ppo.rewardFn());
        for (int i = 0; i < records.size(); i++) {
            String missing = g.checkItem(records.get(i).item());
            if (missing != null) {
                throw new UserInputException(ppo.prompts() + ":" + records.get(i).line() + ": lacks " + missing
                        + ", which the grader " + (ppo.grader() != null ? ppo.grader() : ppo.rewardFn()) + " reads");
            }
        }
        return g;
    }

    /** The reference's log-probabilities of the rollout: a frozen copy, or the policy with its adapters off. */
    private double[] referenceRows(Packed all) {
        if (refLogProbs != null) {
            return refLogProbs.forwardRows(all.inputs(), all.targets(), all.mask(), ppo.temperature());
        }
        policy.setAdaptersEnabled(false);
        try {
            return policyLogProbs.forwardRows(all.inputs(), all.targets(), all.mask(), ppo.temperature());
        } finally {
            policy.setAdaptersEnabled(true);
        }
    }

    /** Runs PPO as configured; {@code resume} continues the run in {@code output_dir}. */
    public static LoopResult run(StageConfig<PpoOptions> cfg, Kernels kernels, PrintStream log, boolean resume)
            throws IOException {
        return run(cfg, kernels, log, resume, null);
    }

    /**
     * As {@link #run(StageConfig, Kernels, PrintStream, boolean)}, with each iteration's rollouts, their
     * scoring, the old-policy, reference and value passes, and each update's gradient on
     * {@code scaleOut} (null: in this process).
     */
    public static LoopResult run(StageConfig<PpoOptions> cfg, Kernels kernels, PrintStream log, boolean resume,
                                 ScaleOut scaleOut) throws IOException {
        // the models are checked before the run directory is touched: a policy is a causal LM, and
        // the reward and value models read the policy's token ids
        Path model = Path.of(cfg.training().model());
        ModelKind.requireCausalLm(model);
        if (cfg.stage().rewardModel() != null) {
            RewardScorer.requireRewardModel(Path.of(cfg.stage().rewardModel()));
            TokenizerFiles.requireSameTokenizer("--model", model, "--reward-model", Path.of(cfg.stage().rewardModel()));
        }
        if (cfg.stage().valueModel() != null) {
            TokenizerFiles.requireSameTokenizer("--model", model, "--value-model", Path.of(cfg.stage().valueModel()));
        }
        return new TrainingLoop(cfg.training(), cfg.toJson(), log).scaleOut(scaleOut).run(() -> {
            PpoTrainer t = new PpoTrainer(cfg, kernels, log);
            if (scaleOut != null) {
                boolean callsOut = t.grader != null && !t.grader.grader().local();
                log.println("on the executors each iteration: the rollouts, their " + (callsOut ? "old-policy"
                        : "scores and the old-policy") + (t.valueHead != null ? ", reference and value passes"
                        : " and reference passes") + " (the weights shared once for them), then each update's"
                        + " gradient in shards" + (callsOut ? "; the grader calls an endpoint, so the driver grades"
                        : ""));
            }
            return t;
        }, resume);
    }

    /**
     * An executor's copy: the same settings load the same policy, reference, reward and value models
     * (their files shipped once for the run, the trained weights shared per iteration); it samples and
     * scores runs of rollout records, passes over them, and computes the gradients of update shards.
     */
    private static Objective replicaOf(ObjectNode settings, Kernels kernels) throws IOException {
        return new PpoTrainer(StageConfig.read(settings, PpoOptions.class), kernels,
                new PrintStream(OutputStream.nullOutputStream()));
    }

    @Override
    public Replica replica() {
        return Replica.of(cfg.toJson(), PpoTrainer::replicaOf, "prompts", "reward_model", "value_model", "grader",
                "ptx_data");
    }

    @Override
    public List<Trainee> trainees() {
        return value == null ? List.of(new Trainee("policy", policy, modelDir))
                : List.of(new Trainee("policy", policy, modelDir), new Trainee("value", value, valueSource));
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
        throw new IllegalStateException("PPO owns its step");
    }

    /** A right-padded training batch of samples, with the row of each response token. */
    private record Packed(TokenBatch inputs, int[] targets, float[] mask, int[][] rows) {
        static Packed of(List<Sample> samples, int pad) {
            int[][] in = new int[samples.size()][];
            for (int b = 0; b < in.length; b++) {
                Sample s = samples.get(b);
                int[] seq = Arrays.copyOf(s.promptIds, s.promptIds.length + s.response.length);
                System.arraycopy(s.response, 0, seq, s.promptIds.length, s.response.length);
                in[b] = Arrays.copyOf(seq, seq.length - 1);
            }
            TokenBatch inputs = TokenBatch.rightPadded(in, pad);
            int t = inputs.time();
            int[] targets = new int[inputs.rows()];
            float[] mask = new float[inputs.rows()];
            int[][] rows = new int[samples.size()][];
            for (int b = 0; b < in.length; b++) {
                Sample s = samples.get(b);
                rows[b] = new int[s.response.length];
                for (int j = 0; j < s.response.length; j++) {
                    int row = b * t + s.promptIds.length - 1 + j;
                    rows[b][j] = row;
                    targets[row] = s.response[j];
                    mask[row] = 1f;
                }
            }
            return new Packed(inputs, targets, mask, rows);
        }

        double[] gather(double[] all, int b) {
            double[] out = new double[rows[b].length];
            for (int j = 0; j < out.length; j++) {
                out[j] = all[rows[b][j]];
            }
            return out;
        }
    }

    private void pauseDropout(boolean paused) {
        policy.pauseAdapterDropout(paused);
        if (value != null) {
            value.pauseAdapterDropout(paused);
        }
    }

    /**
     * One iteration: roll out (with DAPO's dynamic sampling, when on), take the old, reference and
     * value passes, estimate advantages, update. Each is one call below.
     */
    @Override
    public void step(List<MicroBatch> batches, Updater updater, Metrics m) {
        iteration++;
        List<Integer> promptIndices = new ArrayList<>();
        for (MicroBatch mb : batches) {
            for (int i : ((PromptBatch) mb).indices()) {
                promptIndices.add(i);
            }
        }
        // the rollout and its log-probabilities, values and scores read the model as it is: LoRA dropout
        // (drawn from the step's seed by the loop) acts in the updates only
        pauseDropout(true);
        Rollout rollout;
        long t1;
        try {
            rollout = rollout(promptIndices, 0, updater);
            if (losses.dynamicSampling()) {
                rollout = dynamicSampling(rollout, promptIndices.size(), m, updater);
            }
            t1 = System.nanoTime();
            if (!rollout.samples().isEmpty()) {
                passes(rollout.samples(), updater);
            }
        } finally {
            pauseDropout(false);
        }
        List<Sample> samples = rollout.samples();
        if (samples.isEmpty()) {
            noUpdate(m, "every group scored alike, also after " + ppo.maxResampleRounds() + " resampling rounds");
            writeSamples(samples);
            return;
        }
        // the forward passes count as scoring, as they always have (time/scoring: everything between rollout and update)
        double passSeconds = (System.nanoTime() - t1) / 1e9;
        long t2 = System.nanoTime();
        double beta = kl.value();
        advantages(samples, beta);
        if (update(samples, updater, m, beta) == 0) {
            noUpdate(m, "every response was cut at --max-new-tokens " + ppo.maxNewTokens() + " and --mask-truncated"
                    + " trains none of them");
        } else {
            updatedIterations++;
        }
        double updateSeconds = (System.nanoTime() - t2) / 1e9;
        metrics(samples, rollout, passSeconds, beta, updateSeconds, m);
        m.total("time/passes", passSeconds);
        writeSamples(samples);
    }

    /** Responses, the sampler's log-probabilities of them, and the time spent. */
    private record Rollout(List<Sample> samples, long generated, double rolloutSeconds, double scoringSeconds) {
    }

    /**
     * Samples {@code samples_per_prompt} responses to each prompt and scores them (with DAPO's
     * overlong punishment where on). Round 0 draws from the run's seed and the iteration; a
     * resampling round from those and its number.
     */
    private Rollout rollout(List<Integer> promptIndices, int round, Updater updater) {
        int k = ppo.samplesPerPrompt();
        long t0 = System.nanoTime();
        List<RolloutPrompt> records = new ArrayList<>();
        for (int i : promptIndices) {
            for (int r = 0; r < k; r++) {
                records.add(new RolloutPrompt(records.size(), i, prompts.get(i)));
            }
        }
        long seed = opts.seed() * 1_000_003L + iteration + round * 0x9E3779B97F4A7C15L;
        // sampled where the updater says (the executors' replicas with --spark-master): each record draws
        // from its own generator, so its tokens do not depend on the run of records it is sampled in. The
        // responses are scored where they were sampled, unless the grader calls an endpoint: then here
        boolean scoreThere = grader == null || grader.grader().local();
        List<Rolled> gens = updater.map(records, new Sampled(seed, scoreThere));
        List<Sample> samples = new ArrayList<>();
        List<Scored> raw = new ArrayList<>();
        long generated = 0;
        long sampleNanos = 0;
        long scoreNanos = 0;
        for (int b = 0; b < records.size(); b++) {
            Rolled g = gens.get(b);
            samples.add(sample(records.get(b), g));
            raw.add(g.scored());
            generated += g.tokens().length;
            sampleNanos += g.sampleNanos();
            scoreNanos += g.scoreNanos();
        }
        // the job's time shared between sampling and scoring as its slices spent theirs
        double seconds = (System.nanoTime() - t0) / 1e9;
        double scoredShare = scoreNanos == 0 ? 0 : (double) scoreNanos / (sampleNanos + scoreNanos);
        double rolloutSeconds = seconds * (1 - scoredShare);
        double scoringSeconds = seconds * scoredShare;
        if (!scoreThere) {
            long t1 = System.nanoTime();
            raw = rawScores(samples);
            scoringSeconds += (System.nanoTime() - t1) / 1e9;
        }
        double[] scores = scores(samples, raw);
        for (int b = 0; b < samples.size(); b++) {
            Sample s = samples.get(b);
            s.graderError = raw.get(b).error();
            s.graderParts = raw.get(b).parts() == null ? Map.of() : raw.get(b).parts();
            s.overlong = Dapo.overlongPenalty(s.response.length, ppo.maxNewTokens(), losses.overlongBufferLen(),
                    ppo.overlongPenaltyFactor());
            s.score = scores[b] + s.overlong;
        }
        return new Rollout(samples, generated, rolloutSeconds, scoringSeconds);
    }

    /** Record {@code record} of an iteration's rollout: its prompt's index and tokens. */
    private record RolloutPrompt(long record, int prompt, int[] promptIds) implements Serializable {
    }

    /**
     * A sampled response: its tokens, the sampler's log-probabilities, whether it ended with a stop
     * token, and its score where it was scored with its sampling (else null); the first of a run of
     * records carries the run's sampling and scoring times.
     */
    private record Rolled(int[] tokens, double[] logprobs, boolean ended, Scored scored, long sampleNanos,
                          long scoreNanos) implements Serializable {
    }

    /** A response's score before normalisation, clipping and penalties; a grader's error and parts (else null). */
    private record Scored(double raw, String error, LinkedHashMap<String, Double> parts) implements Serializable {
    }

    /** Samples a run of consecutive rollout records with the policy as it is, from the rollout's seed, and scores them with {@code score}. */
    private record Sampled(long seed, boolean score) implements ReplicaWork<RolloutPrompt, Rolled> {
        @Override
        public List<Rolled> run(Objective objective, List<RolloutPrompt> items) {
            return ((PpoTrainer) objective).sample(items, seed, score);
        }
    }

    private List<Rolled> sample(List<RolloutPrompt> items, long seed, boolean score) {
        long t0 = System.nanoTime();
        SamplingConfig sampling = new SamplingConfig(ppo.maxNewTokens(), ppo.temperature(), 0, 1.0, seed, 0, stops,
                List.of());
        List<Generation> gens = generator.generate(items.stream().map(RolloutPrompt::promptIds).toList(), sampling,
                enc.tokenizer()::decode, items.isEmpty() ? 0 : items.get(0).record());
        List<Rolled> out = new ArrayList<>();
        for (Generation g : gens) {
            out.add(new Rolled(g.tokenIds(), g.logprobs(), g.endedWith(stops), null, 0, 0));
        }
        long t1 = System.nanoTime();
        List<Scored> raw = null;
        if (score) {
            List<Sample> samples = new ArrayList<>();
            for (int b = 0; b < out.size(); b++) {
                samples.add(sample(items.get(b), out.get(b)));
            }
            raw = rawScores(samples);
        }
        long t2 = System.nanoTime();
        for (int b = 0; b < out.size(); b++) {
            Rolled g = out.get(b);
            out.set(b, new Rolled(g.tokens(), g.logprobs(), g.ended(), raw == null ? null : raw.get(b),
                    b == 0 ? t1 - t0 : 0, b == 0 ? t2 - t1 : 0));
        }
        return out;
    }

    /** A rollout record's response as a sample (an empty response trains on one pad token), its text decoded. */
    private Sample sample(RolloutPrompt record, Rolled g) {
        Sample s = new Sample();
        s.prompt = record.prompt();
        s.promptIds = record.promptIds();
        s.response = g.tokens().length > 0 ? g.tokens() : new int[] {enc.eosTokenId()};
        s.ended = g.ended();
        s.generated = g.tokens().length;
        s.samplerLogprobs = g.logprobs();
        s.responseText = enc.tokenizer().decode(Arrays.copyOf(s.response, bodyLength(s)));
        return s;
    }

    /** The response's tokens that are scored: all but the stop token it ended with. */
    private static int bodyLength(Sample s) {
        return s.ended ? s.response.length - 1 : s.response.length;
    }

    /**
     * DAPO's dynamic sampling ({@link Dapo#dynamicSampling}): round 0 is {@code first}; a resampling
     * round rolls out as many prompts, drawn from the seed, the iteration and the round.
     */
    private Rollout dynamicSampling(Rollout first, int wanted, Metrics m, Updater updater) {
        List<Rollout> rounds = new ArrayList<>();
        Dapo.Refill<Sample> refill = Dapo.dynamicSampling(wanted, ppo.samplesPerPrompt(), ppo.maxResampleRounds(),
                round -> {
                    if (round == 0) {
                        rounds.add(first);
                        return first.samples();
                    }
                    SplittableRandom draw = new SplittableRandom(opts.seed() * 0x5851F42D4C957F2DL + iteration * 7919L
                            + round);
                    List<Integer> more = new ArrayList<>();
                    for (int i = 0; i < wanted; i++) {
                        more.add(draw.nextInt(prompts.size()));
                    }
                    Rollout r = rollout(more, round, updater);
                    rounds.add(r);
                    return r.samples();
                }, s -> s.score);
        m.total("sampling/groups_dropped", refill.dropped());
        m.total("sampling/groups_kept", refill.kept().size() / ppo.samplesPerPrompt());
        m.total("sampling/num_gen_batches", refill.rounds() + 1);
        // every response generated, the dropped ones too: the cost to compare at equal samples
        m.total("sampling/responses_generated", rounds.stream().mapToInt(r -> r.samples().size()).sum());
        return new Rollout(refill.kept(), rounds.stream().mapToLong(Rollout::generated).sum(),
                rounds.stream().mapToDouble(Rollout::rolloutSeconds).sum(),
                rounds.stream().mapToDouble(Rollout::scoringSeconds).sum());
    }

    /** An iteration with nothing to train on: said in the log, loss 0 and {@code sampling/no_update} in the metrics. */
    private void noUpdate(Metrics m, String why) {
        log.printf("iteration %d: %s: no update%n", iteration, why);
        m.total("loss", 0);
        m.total("sampling/no_update", 1);
    }

    /**
     * The sampler's log-probabilities against a training forward (a mismatch is a bug and stops the
     * run), then the old, reference and value passes, where the updater says (with --spark-master on
     * the executors' replicas, in the rollout's runs of records and reading the weights its rollout
     * read), and the per-token KL.
     */
    private void passes(List<Sample> samples, Updater updater) {
        List<PassItem> items = new ArrayList<>();
        for (Sample s : samples) {
            items.add(new PassItem(s.promptIds, s.response, s.samplerLogprobs));
        }
        List<Passed> passed = updater.map(items, new Passes());
        double worst = 0;
        for (Passed p : passed) {
            worst = Math.max(worst, p.worst());
        }
        if (worst > 1e-3) {
            throw new IllegalStateException("rollout log-probabilities disagree with a training forward by up to "
                    + worst + " at iteration " + iteration + "; the sampler and the model are out of step (a bug)");
        }
        for (int b = 0; b < samples.size(); b++) {
            Sample s = samples.get(b);
            Passed p = passed.get(b);
            s.old = p.old();
            s.ref = p.ref();
            s.values = p.values();
            s.kl = new double[s.old.length];
            for (int j = 0; j < s.kl.length; j++) {
                s.kl[j] = ppo.klEstimator() == PpoOptions.KlEstimator.K1 ? s.old[j] - s.ref[j]
                        : PpoLoss.k3(s.old[j], s.ref[j])[0];
            }
        }
    }

    /** A response to pass over: its prompt's and its own tokens, and the sampler's log-probabilities of them. */
    private record PassItem(int[] promptIds, int[] response, double[] samplerLogprobs) implements Serializable {
    }

    /**
     * A response's old-policy, reference and value (null without a value model) numbers per token, and
     * the largest difference between the sampler's log-probabilities and a training forward's.
     */
    private record Passed(double[] old, double[] ref, double[] values, double worst) implements Serializable {
    }

    /** The passes over a run of consecutive responses, on the run's objective or an executor's replica of it. */
    private record Passes() implements ReplicaWork<PassItem, Passed> {
        @Override
        public List<Passed> run(Objective objective, List<PassItem> items) {
            return ((PpoTrainer) objective).pass(items);
        }
    }

    /** The old, reference and value passes over {@code items} as one batch. */
    private List<Passed> pass(List<PassItem> items) {
        List<Sample> samples = new ArrayList<>();
        for (PassItem item : items) {
            Sample s = new Sample();
            s.promptIds = item.promptIds();
            s.response = item.response();
            samples.add(s);
        }
        Packed all = Packed.of(samples, enc.eosTokenId());
        double[] check = policyLogProbs.forwardRows(all.inputs(), all.targets(), all.mask(), 1.0);
        double[] worst = new double[items.size()];
        for (int b = 0; b < items.size(); b++) {
            double[] sampler = items.get(b).samplerLogprobs();
            for (int j = 0; j < sampler.length; j++) {
                worst[b] = Math.max(worst[b], Math.abs(sampler[j] - check[all.rows()[b][j]]));
            }
        }
        double[] oldRows = ppo.temperature() == 1.0 ? check
                : policyLogProbs.forwardRows(all.inputs(), all.targets(), all.mask(), ppo.temperature());
        double[] refRows = referenceRows(all);
        double[] valueRows = valueHead == null ? null : valueHead.forwardAll(all.inputs());
        List<Passed> out = new ArrayList<>();
        for (int b = 0; b < items.size(); b++) {
            out.add(new Passed(all.gather(oldRows, b), all.gather(refRows, b),
                    valueRows == null ? null : all.gather(valueRows, b), worst[b]));
        }
        return out;
    }

    /** The estimator named by --estimator, from {@link AdvantageEstimators}. */
    private void advantages(List<Sample> samples, double beta) {
        double[][] values = valueHead == null ? null : samples.stream().map(s -> s.values).toArray(double[][]::new);
        AdvantageEstimator.Input in = new AdvantageEstimator.Input(samples.stream().mapToDouble(s -> s.score)
                .toArray(), samples.stream().map(s -> s.kl).toArray(double[][]::new), values,
                ppo.samplesPerPrompt(), beta, new AdvantageEstimator.Settings(ppo.gamma(), ppo.lam(),
                ppo.whitenAdvantages(), losses.scaleRewards()));
        AdvantageEstimator.Result r = AdvantageEstimators.get(ppo.estimator().toString()).compute(in);
        for (int b = 0; b < samples.size(); b++) {
            samples.get(b).advantages = r.advantages()[b];
            samples.get(b).returns = r.returns() == null ? null : r.returns()[b];
        }
    }

    /** The iteration's metrics, TRL's names. */
    private void metrics(List<Sample> samples, Rollout rollout, double passSeconds, double beta, double updateSeconds,
                         Metrics m) {
        double[] klSums = new double[samples.size()];
        double[] scores = new double[samples.size()];
        double[] rlhf = new double[samples.size()];
        double overlong = 0;
        double entropy = 0;
        for (int b = 0; b < samples.size(); b++) {
            Sample s = samples.get(b);
            for (double v : s.kl) {
                klSums[b] += v;
            }
            scores[b] = s.score;
            rlhf[b] = s.score - beta * klSums[b];
            overlong += s.overlong;
            for (double lp : s.old) {
                entropy -= lp;
            }
        }
        kl.update(mean(klSums), samples.size());
        episodes += samples.size();
        m.mean("objective/kl", sum(klSums), samples.size());
        m.mean("objective/entropy", entropy, samples.size());
        m.mean("objective/non_score_reward", -beta * sum(klSums), samples.size());
        m.mean("objective/rlhf_reward", sum(rlhf), samples.size());
        m.mean("objective/scores", sum(scores), samples.size());
        if (losses.overlongBufferLen() > 0) {
            m.mean("objective/overlong_penalty", overlong, samples.size());
        }
        if (grader != null) {
            graderMetrics(samples, m);
        }
        m.total("kl_coef", beta);
        m.total("episode", episodes);
        m.total("time/rollout", rollout.rolloutSeconds());
        m.total("time/scoring", rollout.scoringSeconds() + passSeconds);
        m.total("time/update", updateSeconds);
        m.total("rollout_tokens_per_s", rollout.generated() / rollout.rolloutSeconds());
        m.total("response_length", (double) samples.stream().mapToLong(s -> s.generated).sum() / samples.size());
    }

    /** The responses' scores from the reward model or the grader, before normalisation, clipping and penalties. */
    private List<Scored> rawScores(List<Sample> samples) {
        List<Scored> out = new ArrayList<>();
        if (scorer != null) {
            List<int[]> seqs = new ArrayList<>();
            for (Sample s : samples) {
                int n = bodyLength(s);
                int[] seq = Arrays.copyOf(s.promptIds, s.promptIds.length + n);
                System.arraycopy(s.response, 0, seq, s.promptIds.length, n);
                seqs.add(seq);
            }
            for (double raw : scorer.score(seqs, Math.max(2, opts.batchSize() * ppo.samplesPerPrompt()))) {
                out.add(new Scored(raw, null, null));
            }
            return out;
        }
        List<GraderInput> graded = new ArrayList<>();
        for (Sample s : samples) {
            graded.add(new GraderInput(items.get(s.prompt), s.responseText, bodyLength(s)));
        }
        for (GraderRunner.Grade g : grader.gradeAll(graded)) {
            out.add(new Scored(g.score(), g.error(), new LinkedHashMap<>(g.parts())));
        }
        return out;
    }

    /** The scores the advantages read: the reward model's normalised with its statistics, clipped, penalised. */
    private double[] scores(List<Sample> samples, List<Scored> raw) {
        double[] scores = new double[samples.size()];
        for (int b = 0; b < scores.length; b++) {
            double r = raw.get(b).raw();
            scores[b] = stats == null ? r : (r - stats.mean()) / Math.max(stats.std(), 1e-8);
        }
        for (int b = 0; b < scores.length; b++) {
            if (ppo.rewardClip() > 0) {
                scores[b] = Math.max(-ppo.rewardClip(), Math.min(ppo.rewardClip(), scores[b]));
            }
            if (ppo.missingEosPenalty() != null && !samples.get(b).ended) {
                scores[b] = ppo.missingEosPenalty();
            }
        }
        return scores;
    }

    /** Failed gradings (scored 0; the first message logged, all in the samples file) and a multi grader's parts. */
    private void graderMetrics(List<Sample> samples, Metrics m) {
        int errors = 0;
        String first = null;
        Map<String, double[]> parts = new LinkedHashMap<>();
        for (Sample s : samples) {
            if (s.graderError != null) {
                errors++;
                first = first == null ? s.graderError : first;
            }
            s.graderParts.forEach((k, v) -> {
                double[] a = parts.computeIfAbsent(k, x -> new double[2]);
                a[0] += v;
                a[1]++;
            });
        }
        m.total("objective/grader_errors", errors);
        parts.forEach((k, a) -> m.mean("objective/grader/" + k, a[0], a[1]));
        if (errors > 0) {
            log.printf("iteration %d: the grader failed on %d of %d samples (scored 0), first: %s%n", iteration, errors,
                    samples.size(), first);
        }
    }

    /**
     * {@code ppo_epochs x mini_batches} updates: the policy loss of --policy-loss at every token,
     * weighed by --loss-agg-mode (GRPO adds beta x k3 KL per token to it), minus --entropy-coef x the
     * mean entropy per token, and the value loss as a mean per token. A truncated response under
     * --mask-truncated trains no token.
     */
    private int update(List<Sample> samples, Updater updater, Metrics m, double beta) {
        int n = samples.size();
        int perMini = Math.max(1, (n + ppo.miniBatches() - 1) / ppo.miniBatches());
        boolean klInLoss = ppo.estimator() == PpoOptions.Estimator.GRPO;
        int updates = 0;
        for (int epoch = 0; epoch < ppo.ppoEpochs(); epoch++) {
            int[] order = shuffled(n, new SplittableRandom(opts.seed() * 31 + iteration * 1_000_003L + epoch));
            for (int start = 0; start < n; start += perMini) {
                List<Sample> mini = new ArrayList<>();
                for (int i = start; i < Math.min(n, start + perMini); i++) {
                    mini.add(samples.get(order[i]));
                }
                int[] trained = new int[mini.size()];
                long tokens = 0;
                for (int b = 0; b < mini.size(); b++) {
                    Sample s = mini.get(b);
                    trained[b] = ppo.maskTruncated() && !s.ended ? 0 : s.old.length;
                    tokens += trained[b];
                }
                if (tokens == 0) {
                    continue; // every response of this mini-batch was truncated and masked: nothing to learn from
                }
                // the mini-batch's gradient in shards of consecutive responses (one in one process), each
                // weighed as in the whole mini-batch, so that the shards' sums are the mini-batch's
                double[] weights = losses.aggregation().weights(trained, ppo.maxNewTokens());
                int k = Math.min(updater.shards(), mini.size());
                List<UpdateShard> shards = new ArrayList<>();
                for (int sh = 0; sh < k; sh++) {
                    int from = sh * mini.size() / k;
                    int to = (sh + 1) * mini.size() / k;
                    shards.add(UpdateShard.of(mini.subList(from, to), Arrays.copyOfRange(trained, from, to),
                            Arrays.copyOfRange(weights, from, to), tokens, beta, klInLoss));
                }
                Metrics part = new Metrics();
                updater.gradients(shards, PpoTrainer::shardGradient, part);
                Map<String, Double> sums = part.values();
                double pg = sums.getOrDefault("pg", 0.0);
                double clipped = sums.getOrDefault("clipped", 0.0);
                double approxKl = sums.getOrDefault("approx_kl", 0.0);
                double ratioSum = sums.getOrDefault("ratio_sum", 0.0);
                if (ppo.entropyCoef() > 0) {
                    double mean = sums.getOrDefault("entropy", 0.0);
                    pg -= ppo.entropyCoef() * mean;
                    m.mean("policy/entropy_avg", mean, 1);
                }
                double vf = sums.getOrDefault("vf", 0.0);
                double vfClipped = sums.getOrDefault("vf_clipped", 0.0);
                if (ptx != null && ppo.ptxCoef() > 0) {
                    m.mean("loss/ptx_avg", ptxStep(mini.size(), updates), 1);
                }
                updater.apply();
                updates++;
                m.mean("loss/policy_avg", pg, 1);
                m.mean("policy/clipfrac_avg", clipped / tokens, 1);
                m.mean("policy/approxkl_avg", approxKl / tokens, 1);
                m.mean("val/ratio", ratioSum / tokens, 1);
                if (valueHead != null) {
                    m.mean("loss/value_avg", vf, 1);
                    m.mean("val/clipfrac_avg", vfClipped / tokens, 1);
                }
                m.mean("loss", pg + ppo.vfCoef() * vf, 1);
            }
        }
        return updates;
    }

    /**
     * Some responses of a mini-batch with what their gradient needs: their tokens, old log-probabilities,
     * advantages (and reference log-probabilities for GRPO's KL term, values and returns for the value
     * loss), and the mini-batch's weights and trained-token count, which normalise every shard alike.
     */
    private record UpdateShard(int[][] promptIds, int[][] responses, double[][] old, double[][] advantages,
                               double[][] ref, double[][] values, double[][] returns, int[] trained,
                               double[] weights, long tokens, double beta) implements Serializable {

        static UpdateShard of(List<Sample> mini, int[] trained, double[] weights, long tokens, double beta,
                              boolean withRef) {
            return new UpdateShard(mini.stream().map(x -> x.promptIds).toArray(int[][]::new),
                    mini.stream().map(x -> x.response).toArray(int[][]::new),
                    mini.stream().map(x -> x.old).toArray(double[][]::new),
                    mini.stream().map(x -> x.advantages).toArray(double[][]::new),
                    withRef ? mini.stream().map(x -> x.ref).toArray(double[][]::new) : null,
                    mini.stream().map(x -> x.values).toArray(double[][]::new),
                    mini.stream().map(x -> x.returns).toArray(double[][]::new), trained, weights, tokens, beta);
        }

        List<Sample> samples() {
            List<Sample> out = new ArrayList<>();
            for (int b = 0; b < responses.length; b++) {
                Sample s = new Sample();
                s.promptIds = promptIds[b];
                s.response = responses[b];
                s.old = old[b];
                s.advantages = advantages[b];
                s.values = values[b];
                s.returns = returns[b];
                out.add(s);
            }
            return out;
        }
    }

    /** A shard's work, on the run's objective or an executor's replica of it. */
    private static void shardGradient(Objective objective, UpdateShard shard, Metrics sums) {
        ((PpoTrainer) objective).gradient(shard, sums);
    }

    /**
     * Forward and backward of a shard: the policy objective (with the entropy bonus) into the policy's
     * gradient and the value loss into the value model's; adds the shard's parts of the mini-batch's
     * sums (policy loss, clipped tokens, approximate KL, ratios, entropy, value loss) to {@code sums}.
     */
    private void gradient(UpdateShard shard, Metrics sums) {
        List<Sample> mini = shard.samples();
        int[] trained = shard.trained();
        long tokens = shard.tokens();
        Packed p = Packed.of(mini, enc.eosTokenId());
        double[] newRows = policyLogProbs.forwardRows(p.inputs(), p.targets(), p.mask(), ppo.temperature());
        double[][] logp = new double[mini.size()][];
        for (int b = 0; b < mini.size(); b++) {
            logp[b] = p.gather(newRows, b);
        }
        PolicyObjective.Result obj = PolicyObjective.compute(logp, shard.old(), shard.advantages(), shard.ref(),
                shard.beta(), trained, shard.weights(), losses.policyLoss(), losses.clip());
        double[] dRows = new double[newRows.length];
        for (int b = 0; b < mini.size(); b++) {
            for (int j = 0; j < logp[b].length; j++) {
                dRows[p.rows()[b][j]] = obj.grad()[b][j];
            }
        }
        sums.total("pg", obj.loss());
        sums.total("clipped", obj.clipped());
        sums.total("approx_kl", obj.approxKl());
        sums.total("ratio_sum", obj.ratioSum());
        double[] dEntropy = null;
        if (ppo.entropyCoef() > 0) {
            // TRL's entropy bonus: - coef x the mean entropy per trained token, whatever the aggregation
            double[] h = policyLogProbs.entropyRows();
            dEntropy = new double[h.length];
            double mean = 0;
            for (int b = 0; b < mini.size(); b++) {
                for (int j = 0; trained[b] > 0 && j < p.rows()[b].length; j++) {
                    int row = p.rows()[b][j];
                    mean += h[row] / tokens;
                    dEntropy[row] = -ppo.entropyCoef() / tokens;
                }
            }
            sums.total("entropy", mean);
        }
        policyLogProbs.backwardRows(dRows, dEntropy);
        if (valueHead != null) {
            double vf = 0;
            double vfClipped = 0;
            double[] v = valueHead.forwardAll(p.inputs());
            double[] dv = new double[v.length];
            for (int b = 0; b < mini.size(); b++) {
                Sample s = mini.get(b);
                if (trained[b] == 0) {
                    continue;
                }
                for (int j = 0; j < s.old.length; j++) {
                    int row = p.rows()[b][j];
                    PpoLoss.Token t = PpoLoss.value(v[row], s.values[j], s.returns[j], ppo.cliprangeValue());
                    vf += t.loss() / tokens;
                    dv[row] = ppo.vfCoef() * t.grad() / tokens;
                    vfClipped += t.clipped() ? 1 : 0;
                }
            }
            valueHead.backwardAll(dv);
            sums.total("vf", vf);
            sums.total("vf_clipped", vfClipped);
        }
    }

    /** PPO-ptx: adds ptx_coef x the mean next-token loss of a batch of pretraining text to the policy's gradient. */
    private double ptxStep(int size, int update) {
        List<Example> ex = new ArrayList<>();
        long base = (iteration - 1) * 1_000L + update;
        for (int i = 0; i < size; i++) {
            ex.add(ptx.get((int) Math.floorMod(base * size + i, (long) ptx.size())));
        }
        TrainingBatch b = ptxCollator.collate(ex);
        if (b.trainedTokens() == 0) {
            return 0;
        }
        float[] w = new float[b.lossMask().length];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (b.lossMask()[i] * ppo.ptxCoef() / b.trainedTokens());
        }
        return LanguageModelLoss.forwardBackward(policy, b.inputs(), b.targets(), w) / ppo.ptxCoef();
    }

    private static int[] shuffled(int n, SplittableRandom r) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
        return a;
    }

    private static double sum(double[] a) {
        double s = 0;
        for (double v : a) {
            s += v;
        }
        return s;
    }

    private static double mean(double[] a) {
        return a.length == 0 ? 0 : sum(a) / a.length;
    }

    private void writeSamples(List<Sample> samples) {
        int every = ppo.sampleEvery() > 0 ? ppo.sampleEvery() : opts.saveEvery() > 0 ? opts.saveEvery() : 10;
        if (iteration % every != 0) {
            return;
        }
        List<ObjectNode> rows = new ArrayList<>();
        for (Sample s : samples) {
            ObjectNode o = Json.MAPPER.createObjectNode();
            o.put("prompt", promptTexts.get(s.prompt));
            // the tokens the rollout was conditioned on, after --max-length and --truncation
            Arrays.stream(s.promptIds).forEach(o.putArray("prompt_tokens")::add);
            o.put("response", s.responseText);
            o.put("score", s.score);
            o.put("kl", sum(s.kl));
            o.put("ended", s.ended);
            if (s.graderError != null) {
                o.put("grader_error", s.graderError);
            }
            rows.add(o);
        }
        try {
            Path dir = runDir.resolve("samples");
            Files.createDirectories(dir);
            JsonlWriter.write(dir.resolve("step-" + iteration + ".jsonl"), rows);
        } catch (IOException e) {
            log.println("could not write samples of iteration " + iteration + ": " + e.getMessage());
        }
    }

    @Override
    public boolean hasValidation() {
        return false;
    }

    @Override
    public Map<String, Double> evaluate() {
        return Map.of();
    }

    @Override
    public BestMetric bestMetric() {
        return new BestMetric("objective/scores", true);
    }

    @Override
    public JsonNode state() {
        return Json.MAPPER.createObjectNode().put("iteration", iteration).put("episode", episodes)
                .put("kl_coef", kl.value()).put("updated_iterations", updatedIterations);
    }

    @Override
    public void restore(JsonNode state) {
        iteration = state.path("iteration").asLong();
        episodes = state.path("episode").asLong();
        kl.restore(state.path("kl_coef").asDouble(ppo.klCoef()));
        updatedIterations = state.path("updated_iterations").asLong(iteration);
    }

    @Override
    public void finish(RunDirectory run, PrintStream out) {
        if (updatedIterations == 0) {
            throw new UserInputException("no iteration had anything to train on (each one's reason is in the log):"
                    + " with --dynamic-sampling every group scored alike, or with --mask-truncated every response"
                    + " hit --max-new-tokens " + ppo.maxNewTokens() + "; the policy is unchanged");
        }
        out.printf("policy in %s%s%n", run.finalDir(), value == null ? "" : "; value model in "
                + run.finalDir().resolve("value"));
    }
}
