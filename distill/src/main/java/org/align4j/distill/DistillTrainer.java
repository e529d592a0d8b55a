package org.align4j.distill;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.checkpoint.ModelKind;
import org.align4j.core.checkpoint.ModelSource;
import org.align4j.core.generate.Generation;
import org.align4j.core.generate.Generator;
import org.align4j.core.generate.SamplingConfig;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.tokenizer.SpecialTokens;
import org.align4j.core.tokenizer.TokenizerFiles;
import org.align4j.core.util.Json;
import org.align4j.core.util.UserInputException;
import org.align4j.data.batch.Collator;
import org.align4j.data.batch.Example;
import org.align4j.data.batch.ExampleEncoder;
import org.align4j.data.batch.TrainingBatch;
import org.align4j.data.format.DataRecord;
import org.align4j.data.format.Dataset;
import org.align4j.data.format.PromptSource;
import org.align4j.data.format.RecordKind;
import org.align4j.train.LoopResult;
import org.align4j.train.Metrics;
import org.align4j.train.Objective;
import org.align4j.train.StageConfig;
import org.align4j.train.TrainingData;
import org.align4j.train.TrainingFailure;
import org.align4j.train.TrainingLoop;
import org.align4j.train.TrainingOptions;
import org.align4j.train.scale.Replica;
import org.align4j.train.scale.ScaleOut;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Knowledge distillation from a frozen teacher on the shared {@link TrainingLoop}, as TRL's
 * GKDTrainer. Each micro-batch is, with probability {@code lmbda}, on-policy: the student samples
 * completions of the batch's prompts; otherwise it keeps the data's completions (or, with
 * {@code seq_kd}, the teacher's samples). Teacher (forward only, no gradient) and student see the
 * same tokens; {@link GkdLoss} gives the generalized JSD of every completion token and its
 * gradient with respect to the student's logits, which runs the model's one backward path. The
 * step's loss is the sum over its completion tokens divided by their number (TRL's reduction with
 * {@code num_items_in_batch}: batchmean over the tokens of the whole accumulated step). The
 * on-policy draw and the sampling seeds derive from the run's seed and the micro-batch's number,
 * which the checkpoint carries, so a resumed run samples exactly what the uninterrupted one did.
 *
 * <p>The stage runs its own step so that what a micro-batch trains on is fixed before its gradient
 * is computed anywhere: the draws on the driver, then each sampled micro-batch's completions as one
 * batch from its own seed (with {@code --spark-master}, micro-batches spread over the executors'
 * replicas holding the step's weights: the same rows, seed and weights as in one process, so the
 * same tokens), then the student's gradient of every micro-batch's tokens, data-parallel over the
 * executors and summed in micro-batch order, and one update.
 */
public final class DistillTrainer implements Objective {

    /** SFT data: the prompt is everything before the first trained token. */
    public static final Set<RecordKind> KINDS = Set.of(RecordKind.COMPLETION, RecordKind.CHAT);

    private final StageConfig<DistillOptions> cfg;
    private final TrainingOptions opts;
    private final DistillOptions d;
    private final Path modelDir;
    private final DecoderModel student;
    private final DecoderModel teacher;
    private final ExampleEncoder enc;
    private final Collator collator;
    private final Generator studentSampler;
    private final Generator teacherSampler;
    private final Set<Integer> stops;
    /** Columns the two models' logits are compared over: the shared tokenizer's ids. */
    private final int vocab;
    private final List<Example> train;
    /** Each training example's prompt, cut to leave room for {@code max_new_tokens}. */
    private final List<int[]> prompts;
    private final List<Example> val;
    /** Prompts of a prompt-only validation file: evaluated on the student's samples with a fixed seed. */
    private final List<int[]> valPrompts;
    /** Micro-batches prepared so far: with the seed, it fixes each one's draw and samples. */
    private long prepared;

    private DistillTrainer(StageConfig<DistillOptions> cfg, Kernels kernels, PrintStream log) throws IOException {
        this.cfg = cfg;
        this.opts = cfg.training();
        this.d = cfg.stage();
        this.modelDir = Path.of(opts.model());
        // prompt-only files have no completions: every batch is sampled (checked in run())
        boolean trainPrompts = PromptSource.promptOnly(Path.of(opts.trainFile()));
        boolean valIsPrompts = opts.valFile() != null && PromptSource.promptOnly(Path.of(opts.valFile()));
        Dataset trainData = trainPrompts ? null : TrainingData.read(opts, opts.trainFile(), "train", KINDS, log);
        Dataset valData = opts.valFile() == null || valIsPrompts ? null : TrainingData.read(opts, opts.valFile(),
                "validation", KINDS, log);
        this.student = opts.source().load(kernels, DataType.FLOAT, opts.setup(false));
        this.teacher = ModelSource.of(Path.of(d.teacher())).load(kernels, DataType.FLOAT, false);
        this.enc = ExampleEncoder.forModel(modelDir, student.config().eosTokenId());
        // sampling and both distributions range over the tokenizer's ids (a padded vocabulary's
        // extra rows are masked by both models)
        student.limitVocabulary(enc.tokenizer());
        teacher.limitVocabulary(enc.tokenizer());
        this.vocab = Math.min(enc.tokenizer().vocabSize(), Math.min(student.config().vocabSize(),
                teacher.config().vocabSize()));
        int maxLength = opts.sequenceLength(student);
        if (teacher.config().contextLength() < maxLength) {
            throw new UserInputException("--teacher " + d.teacher() + " reads at most " + teacher.config()
                    .contextLength() + " tokens, fewer than the " + maxLength + " of --max-length (the student's"
                    + " context when 0): set --max-length " + teacher.config().contextLength());
        }
        this.collator = new Collator(maxLength, opts.truncation(), enc.eosTokenId());
        boolean sampling = d.lmbda() > 0 || d.seqKd();
        int keep = maxLength - d.maxNewTokens();
        if ((sampling || valIsPrompts) && keep < 1) {
            throw new UserInputException("--max-new-tokens " + d.maxNewTokens() + " leaves no room for a prompt in "
                    + maxLength + " tokens (--max-length, or the student's context when 0)");
        }
        this.stops = SpecialTokens.stops(enc.tokenizer(), enc.eosTokenId());
        this.studentSampler = new Generator(student);
        this.teacherSampler = d.seqKd() ? new Generator(teacher) : null;
        // the data's completions are trained when a batch is not sampled; with lmbda 1 and no seq_kd only prompts matter
        boolean dataCompletions = d.lmbda() < 1 && !d.seqKd();
        this.train = new ArrayList<>();
        this.prompts = new ArrayList<>();
        this.val = new ArrayList<>();
        this.valPrompts = new ArrayList<>();
        if (trainPrompts) {
            prompts.addAll(prompts(opts.trainFile(), keep, "train", log));
        } else {
            examples(trainData, dataCompletions, Math.max(keep, 1), train, prompts, log);
        }
        if (valIsPrompts) {
            valPrompts.addAll(prompts(opts.valFile(), keep, "validation", log));
        } else if (valData != null) {
            examples(valData, true, Math.max(keep, 1), val, new ArrayList<>(), log);
        }
        log.printf("distillation: teacher %s (%,d parameters, frozen), student %s (%,d parameters); beta %s, lmbda %s%s,"
                        + " %d vocabulary columns%n", d.teacher(), teacher.parameterCount(), opts.model(),
                student.parameterCount(), d.beta(), d.lmbda(), d.seqKd() ? ", seq_kd" : "", vocab);
    }

    /** Runs distillation as configured; {@code resume} continues the run in {@code output_dir}. */
    public static LoopResult run(StageConfig<DistillOptions> cfg, Kernels kernels, PrintStream log, boolean resume)
            throws IOException {
        return run(cfg, kernels, log, resume, null);
    }

    /**
     * As {@link #run(StageConfig, Kernels, PrintStream, boolean)}, each step's sampling and student
     * gradient on {@code scaleOut} (null: in this process).
     */
    public static LoopResult run(StageConfig<DistillOptions> cfg, Kernels kernels, PrintStream log, boolean resume,
                                 ScaleOut scaleOut) throws IOException {
        // both models are checked before the run directory is touched
        Path student = Path.of(cfg.training().model());
        Path teacher = Path.of(cfg.stage().teacher());
        ModelKind.requireCausalLm(student);
        ModelKind.requireCausalLm(teacher);
        TokenizerFiles.requireSameTokenizer("--model", student, "--teacher", teacher);
        DistillOptions d = cfg.stage();
        if (d.lmbda() < 1 && !d.seqKd() && PromptSource.promptOnly(Path.of(cfg.training().trainFile()))) {
            throw new UserInputException(cfg.training().trainFile() + " holds prompts only, so the batches not"
                    + " sampled by the student (--lmbda " + d.lmbda() + " < 1) have no completions: use --lmbda 1"
                    + " (on-policy), --seq-kd (the teacher's samples) or an SFT file");
        }
        return new TrainingLoop(cfg.training(), cfg.toJson(), log).scaleOut(scaleOut)
                .run(() -> new DistillTrainer(cfg, kernels, log), resume);
    }

    /**
     * An executor's copy: the same settings load the same student, teacher and data; it samples the
     * micro-batches and computes the gradients it is sent, and nothing else (no validation, no state).
     */
    private static Objective replicaOf(ObjectNode settings, Kernels kernels) throws IOException {
        return new DistillTrainer(StageConfig.read(settings, DistillOptions.class), kernels,
                new PrintStream(OutputStream.nullOutputStream()));
    }

    @Override
    public Replica replica() {
        return Replica.of(cfg.toJson(), DistillTrainer::replicaOf, "teacher");
    }

    /**
     * The examples of {@code data} and their prompts (cut to {@code keep} tokens by
     * {@code --truncation} for sampling). Where the data's completions are trained, an example
     * whose completion has no token left after truncation is reported with its line and left out;
     * no example left is an error naming the file.
     */
    private void examples(Dataset data, boolean completions, int keep, List<Example> out, List<int[]> promptsOut,
                          PrintStream log) {
        List<Long> empty = new ArrayList<>();
        int truncated = 0;
        for (int i = 0; i < data.records().size(); i++) {
            DataRecord r = data.records().get(i);
            Example e = enc.encode(r);
            int first = 0;
            while (first < e.length() && !e.trained()[first]) {
                first++;
            }
            if (completions) {
                TrainingBatch b = collator.collate(List.of(e));
                truncated += b.truncated();
                if (b.trainedTokens() == 0) {
                    empty.add(data.lines().get(i));
                    continue;
                }
            }
            if (first == 0) {
                throw new UserInputException(data.file() + ":" + data.lines().get(i) + ": the record has no prompt"
                        + " before its trained tokens, so there is nothing for a model to complete");
            }
            int from = opts.truncation().start(first, keep);
            int[] prompt = Arrays.copyOfRange(e.ids(), first > keep ? from : 0, first > keep ? from + keep
                    : first);
            out.add(e);
            promptsOut.add(prompt);
        }
        if (truncated > 0) {
            log.printf("%s: %d sequence(s) exceed %d tokens and are truncated%n", data.file(), truncated,
                    collator.maxLength());
        }
        if (!empty.isEmpty()) {
            log.printf("%s: %d example(s) left out: the completion is empty after truncation to %d tokens, at line(s)"
                    + " %s%n", data.file(), empty.size(), collator.maxLength(), empty.size() <= 10 ? empty
                    : empty.subList(0, 10) + " and " + (empty.size() - 10) + " more");
        }
        if (out.isEmpty()) {
            throw new UserInputException(data.file() + ": no example keeps a token of its completion within --max-length "
                    + collator.maxLength() + "; raise it or use --truncation left");
        }
    }

    /** The prompts of a prompt-only file, cut to {@code keep} tokens by {@code --truncation}. */
    private List<int[]> prompts(String file, int keep, String what, PrintStream log) throws IOException {
        List<int[]> out = new ArrayList<>();
        int cut = 0;
        for (PromptSource.Prompt p : PromptSource.readItems(Path.of(file))) {
            int[] ids = enc.promptIds(p.content());
            if (ids.length > keep) {
                int from = opts.truncation().start(ids.length, keep);
                ids = Arrays.copyOfRange(ids, from, from + keep);
                cut++;
            }
            out.add(ids);
        }
        log.printf("%s prompts: %s, %d (%d cut to %d tokens, %s truncation)%n", what, file, out.size(), cut, keep,
                opts.truncation());
        return out;
    }

    @Override
    public List<Trainee> trainees() {
        return List.of(new Trainee("model", student, modelDir));
    }

    @Override
    public int[] trainLengths() {
        return train.isEmpty() ? prompts.stream().mapToInt(p -> p.length).toArray()
                : train.stream().mapToInt(Example::length).toArray();
    }

    /** Whose completions a micro-batch trains on. */
    enum Source { DATA, STUDENT, TEACHER }

    private record Batch(TrainingBatch batch, Source source, int sequences, long inputTokens) implements MicroBatch {
        public double weight() {
            return batch.trainedTokens();
        }
    }

    /** A micro-batch as the loop plans it: which examples; the step decides whose completions they get. */
    private record Planned(int[] examples, long inputTokens) implements MicroBatch {
        public double weight() {
            return examples.length;
        }
    }

    @Override
    public MicroBatch prepare(int[] idx) {
        long tokens = 0;
        for (int i : idx) {
            tokens += train.isEmpty() ? prompts.get(i).length : train.get(i).length();
        }
        return new Planned(idx, tokens);
    }

    @Override
    public boolean ownsStep() {
        return true;
    }

    /**
     * A step: each micro-batch is, with probability {@code lmbda}, the student's samples of its
     * prompts, else the teacher's ({@code seq_kd}) or the data's completions; samples are drawn here,
     * after the previous step's update, so the student samples with its current weights. Then one
     * update from the gradient of the step's token-mean divergence.
     */
    @Override
    public void step(List<MicroBatch> batches, Updater updater, Metrics m) {
        long t0 = System.nanoTime();
        // 1. the draws, from the seed and each micro-batch's number (the checkpoint carries the count)
        Source[] sources = new Source[batches.size()];
        List<Draw> draws = new ArrayList<>();
        for (int j = 0; j < batches.size(); j++) {
            long seed = opts.seed() * 1_000_003L + prepared++;
            // TRL draws random.random() <= lmbda per step; '<' makes lmbda 0 never and 1 always sample
            sources[j] = new SplittableRandom(seed).nextDouble() < d.lmbda() ? Source.STUDENT
                    : d.seqKd() ? Source.TEACHER : Source.DATA;
            if (sources[j] != Source.DATA) {
                int[] idx = ((Planned) batches.get(j)).examples();
                int[][] ps = new int[idx.length][];
                for (int k = 0; k < idx.length; k++) {
                    ps[k] = prompts.get(idx[k]);
                }
                draws.add(new Draw(ps, sources[j] == Source.TEACHER, seed));
            }
        }
        // 2. the sampled micro-batches' completions: a micro-batch is one sampling batch wherever it runs
        List<int[][]> completions = draws.isEmpty() ? List.of() : updater.map(draws, DistillTrainer::sampleDraws);
        // 3. the student's gradient of every micro-batch, normalised by the step's completion tokens
        List<Shard> shards = new ArrayList<>(batches.size());
        double total = 0;
        long tokens = 0;
        int drawn = 0;
        for (int j = 0; j < batches.size(); j++) {
            int[] idx = ((Planned) batches.get(j)).examples();
            List<Example> examples = new ArrayList<>(idx.length);
            if (sources[j] == Source.DATA) {
                for (int i : idx) {
                    examples.add(train.get(i));
                }
            } else {
                Draw draw = draws.get(drawn);
                int[][] done = completions.get(drawn++);
                for (int k = 0; k < idx.length; k++) {
                    examples.add(ExampleEncoder.promptAndCompletion(draw.prompts()[k], done[k]));
                }
            }
            total += collator.collate(examples).trainedTokens();
            tokens += examples.stream().mapToLong(Example::length).sum();
            shards.add(Shard.of(examples, sources[j]));
        }
        if (total <= 0) {
            throw new TrainingFailure("a step has nothing to train on (its batches carry no completion tokens);"
                    + " stopped");
        }
        updater.gradients(shards, new Gradient(1.0 / total), m);
        updater.apply();
        m.total("tokens_per_s", tokens / ((System.nanoTime() - t0) / 1e9));
    }

    /** A sampled micro-batch: its prompts, whose sampler, and its seed. */
    private record Draw(int[][] prompts, boolean teacher, long seed) implements Serializable {
    }

    /** Samples consecutive micro-batches with the models as they are: each one as a batch from its seed. */
    private static List<int[][]> sampleDraws(Objective objective, List<Draw> draws) {
        DistillTrainer t = (DistillTrainer) objective;
        List<int[][]> out = new ArrayList<>(draws.size());
        for (Draw draw : draws) {
            List<Example> ex = t.sampled(draw.teacher() ? t.teacherSampler : t.studentSampler,
                    Arrays.asList(draw.prompts()), draw.seed());
            int[][] done = new int[ex.size()][];
            for (int k = 0; k < done.length; k++) {
                done[k] = Arrays.copyOfRange(ex.get(k).ids(), draw.prompts()[k].length, ex.get(k).length());
            }
            out.add(done);
        }
        return out;
    }

    /** A micro-batch's sequences and whose completions they hold: what its gradient reads, wherever it runs. */
    private record Shard(int[][] ids, boolean[][] trained, Source source) implements Serializable {
        static Shard of(List<Example> examples, Source source) {
            return new Shard(examples.stream().map(Example::ids).toArray(int[][]::new),
                    examples.stream().map(Example::trained).toArray(boolean[][]::new), source);
        }
    }

    /** A micro-batch's forward and backward, scaled by one over the step's completion tokens. */
    private record Gradient(double scale) implements ShardWork<Shard> {
        @Override
        public void run(Objective objective, Shard shard, Metrics metrics) {
            DistillTrainer t = (DistillTrainer) objective;
            List<Example> examples = new ArrayList<>(shard.ids().length);
            for (int k = 0; k < shard.ids().length; k++) {
                examples.add(new Example(shard.ids()[k], shard.trained()[k]));
            }
            long tokens = examples.stream().mapToLong(Example::length).sum();
            t.lossOf(new Batch(t.collator.collate(examples), shard.source(), examples.size(), tokens), scale, metrics);
        }
    }

    /** Each prompt followed by the sampler's completion of it (its stop token included, as TRL trains it). */
    private List<Example> sampled(Generator g, List<int[]> ps, long seed) {
        SamplingConfig cfg = new SamplingConfig(d.maxNewTokens(), d.temperature(), 0, 1.0, seed, 0, stops, List.of());
        List<Generation> gens = g.generate(ps, cfg, enc.tokenizer()::decode);
        List<Example> out = new ArrayList<>(ps.size());
        for (int k = 0; k < ps.size(); k++) {
            int[] response = gens.get(k).tokenIds();
            // a sample is never empty (max_new_tokens >= 1); the guard keeps every sequence a completion token
            out.add(ExampleEncoder.promptAndCompletion(ps.get(k), response.length > 0 ? response
                    : new int[] {enc.eosTokenId()}));
        }
        return out;
    }

    /**
     * The summed divergence of a batch's completion tokens; with {@code scale > 0} also accumulates
     * {@code scale ·} its gradient into the student. Metrics: {@code loss} (per completion token),
     * the completions' summed log-probabilities under each model ({@code distill/student_logp},
     * {@code distill/teacher_logp}, per sequence, temperature 1), their length.
     */
    private void lossOf(Batch b, double scale, Metrics m) {
        TrainingBatch tb = b.batch();
        // the teacher first: its logits are copied out before the student's forward runs
        INDArray tl = teacher.forward(tb.inputs());
        int vt = (int) tl.size(1);
        float[] tf = onHeap(tl);
        INDArray sl = student.forward(tb.inputs());
        int vs = (int) sl.size(1);
        float[] sf = onHeap(sl);
        float[] grad = scale > 0 ? new float[sf.length] : null;
        GkdLoss.Sum sum = GkdLoss.masked(sf, vs, tf, vt, vocab, tb.lossMask(), d.beta(), d.lossTemperature(), grad,
                scale);
        m.mean("loss", sum.divergence(), sum.tokens());
        double studentLogp = 0;
        double teacherLogp = 0;
        for (int r = 0; r < tb.lossMask().length; r++) {
            if (tb.lossMask()[r] != 0f) {
                studentLogp += GkdLoss.logProbAt(sf, vs, r, vocab, tb.targets()[r]);
                teacherLogp += GkdLoss.logProbAt(tf, vt, r, vocab, tb.targets()[r]);
            }
        }
        m.mean("distill/student_logp", studentLogp, b.sequences());
        m.mean("distill/teacher_logp", teacherLogp, b.sequences());
        m.mean("distill/completion_length", sum.tokens(), b.sequences());
        if (grad != null) {
            m.mean("distill/on_policy", b.source() == Source.STUDENT ? 1 : 0, 1);
            try (INDArray g = Nd4j.createFromArray(grad)) {
                sl.assign(g.reshape(sl.shape()));
            }
            student.backward(sl);
        }
    }

    /** The logits as a row-major Java array; the off-heap copy is freed at once rather than by GC. */
    private static float[] onHeap(INDArray logits) {
        try (INDArray c = logits.dup('c')) {
            return c.data().asFloat();
        }
    }

    @Override
    public void forwardBackward(MicroBatch micro, double scale, Metrics metrics) {
        throw new IllegalStateException("distillation owns its step");
    }

    @Override
    public boolean hasValidation() {
        return !val.isEmpty() || !valPrompts.isEmpty();
    }

    /**
     * The divergence on the validation data's own completions, in file order, in batches of
     * {@code --batch-size}; for a prompt-only file, on the student's samples of its prompts with
     * the same seed at every evaluation (the run's seed, negated), so evaluations compare.
     */
    @Override
    public Map<String, Double> evaluate() {
        int n = valPrompts.isEmpty() ? val.size() : valPrompts.size();
        return Metrics.inBatches(n, opts.batchSize(), (idx, m) -> {
            int start = idx[0];
            int end = start + idx.length;
            List<Example> es = valPrompts.isEmpty() ? val.subList(start, end)
                    : sampled(studentSampler, valPrompts.subList(start, end), -(opts.seed() * 1_000_003L) - start - 1);
            lossOf(new Batch(collator.collate(es), valPrompts.isEmpty() ? Source.DATA : Source.STUDENT, es.size(), 0),
                    0, m);
        });
    }

    @Override
    public BestMetric bestMetric() {
        return new BestMetric("loss", false);
    }

    @Override
    public JsonNode state() {
        return Json.MAPPER.createObjectNode().put("micro_batches", prepared);
    }

    @Override
    public void restore(JsonNode state) {
        prepared = state.path("micro_batches").asLong(0);
    }
}
