package org.align4j.kto;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.align4j.core.checkpoint.ModelSource;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.loss.SequenceLogProbs;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.util.UserInputException;
import org.align4j.data.batch.Collator;
import org.align4j.data.batch.Example;
import org.align4j.data.batch.ExampleEncoder;
import org.align4j.data.batch.TrainingBatch;
import org.align4j.data.format.DataRecord;
import org.align4j.data.format.Dataset;
import org.align4j.data.format.RecordKind;
import org.align4j.train.LoopResult;
import org.align4j.train.Metrics;
import org.align4j.train.Objective;
import org.align4j.train.ReferenceCache;
import org.align4j.train.StageConfig;
import org.align4j.train.TrainingData;
import org.align4j.train.TrainingLoop;
import org.align4j.train.TrainingOptions;
import org.align4j.train.scale.Replica;
import org.align4j.train.scale.ScaleOut;
import org.nd4j.linalg.api.buffer.DataType;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * KTO (Ethayarajh et al. 2024) from unpaired thumbs-up/down examples on the shared
 * {@link TrainingLoop}, as TRL's KTOTrainer. Each example's completion log-probability (summed
 * over completion tokens) and its reference's give the log-ratio {@code r}; {@link KtoLoss} turns
 * them into the loss. The KL estimate {@code z0} of a micro-batch comes from mismatched
 * (prompt, completion) pairs: as TRL does, every example is paired, in file order and in groups of
 * {@code --batch-size}, with the completion of the example before it in its group (the first
 * with the group's last), and {@code z0} is the mean log-ratio of the micro-batch's mismatched
 * sequences, clamped at 0 and carrying no gradient. Fixing the pairing once makes the reference's
 * side cacheable: reference log-probabilities of both sequences of every example come from the
 * {@link ReferenceCache}. Metrics under TRL's names; {@code best/} by validation loss.
 *
 * <p>Data-parallel ({@code --spark-master}): {@code z0} is a statistic of one micro-batch, and the
 * loop hands each executor whole micro-batches, so cutting a step's micro-batches over executors
 * leaves every estimate (and so every loss) what one process computes; the pairing is fixed by the
 * file order and {@code --batch-size} alone, which the executors' replicas read alike.
 */
public final class KtoTrainer implements Objective {

    public static final Set<RecordKind> KINDS = Set.of(RecordKind.UNPAIRED);

    private final StageConfig<KtoOptions> cfg;
    private final TrainingOptions opts;
    private final Path modelDir;
    private final DecoderModel model;
    private final SequenceLogProbs logProbs;
    private final Collator collator;
    private final KtoLoss.Settings loss;
    private final List<KtoExample> train;
    private final List<KtoExample> val;
    private final ReferenceCache.LogProbs ref;

    /** {@code givenRef}: the train examples' reference log-probabilities computed by the driver (an executor's replica); null: the cache's. */
    private KtoTrainer(StageConfig<KtoOptions> cfg, Kernels kernels, PrintStream log, double[][] givenRef)
            throws IOException {
        this.cfg = cfg;
        this.opts = cfg.training();
        this.modelDir = Path.of(opts.model());
        this.loss = cfg.stage().lossSettings();
        Dataset trainData = TrainingData.read(opts, opts.trainFile(), "train", KINDS, log);
        Dataset valData = opts.valFile() == null ? null : TrainingData.read(opts, opts.valFile(), "validation", KINDS,
                log);
        this.model = opts.source().load(kernels, DataType.FLOAT, opts.setup(false));
        ExampleEncoder enc = ExampleEncoder.forModel(modelDir, model.config().eosTokenId());
        this.collator = new Collator(opts.sequenceLength(model), opts.truncation(),
                enc.eosTokenId());
        this.train = examples(trainData, enc, collator, opts.batchSize(), log);
        this.val = valData == null ? null : examples(valData, enc, collator, opts.batchSize(), log);
        long desirable = train.stream().filter(KtoExample::desirable).count();
        log.printf("train examples: %d desirable, %d undesirable%n", desirable, train.size() - desirable);
        String advice = KtoLoss.weightAdvice(loss.desirableWeight(), loss.undesirableWeight(), desirable,
                train.size() - desirable);
        if (advice != null) {
            log.println("warning: " + advice);
        }
        this.logProbs = new SequenceLogProbs(model);
        if (givenRef != null) {
            this.ref = new ReferenceCache.LogProbs(givenRef, null);
        } else {
            ModelSource refSource = cfg.stage().refModel() != null ? ModelSource.of(Path.of(cfg.stage().refModel()))
                    : opts.source();
            this.ref = ReferenceCache.load(Path.of(opts.outputDir()), refSource, rows(train), rows(val), collator,
                    opts.batchSize(), kernels, log, opts.lora() != null && cfg.stage().refModel() == null ? model
                            : null, "example");
        }
    }

    /** Trains as configured; {@code resume} continues the run in {@code output_dir}. */
    public static LoopResult run(StageConfig<KtoOptions> cfg, Kernels kernels, PrintStream log, boolean resume)
            throws IOException {
        return run(cfg, kernels, log, resume, null);
    }

    /**
     * As {@link #run(StageConfig, Kernels, PrintStream, boolean)}, each step's micro-batches on
     * {@code scaleOut} (null: in this process).
     */
    public static LoopResult run(StageConfig<KtoOptions> cfg, Kernels kernels, PrintStream log, boolean resume,
                                 ScaleOut scaleOut) throws IOException {
        // checked before the run directory is touched
        ReferenceCache.checkModels(Path.of(cfg.training().model()), cfg.stage().refModel());
        if (cfg.stage().lossType().usesKl() && cfg.training().batchSize() < 2) {
            throw new UserInputException("--batch-size must be at least 2 for --loss-type kto: the KL estimate comes"
                    + " from the other examples of a batch (with 1 it would equal the example's own reward)");
        }
        return new TrainingLoop(cfg.training(), cfg.toJson(), log).scaleOut(scaleOut)
                .run(() -> new KtoTrainer(cfg, kernels, log, null), resume);
    }

    /**
     * An executor's copy: the same settings give the same examples, pairing and order; the reference
     * log-probabilities the driver computed (or read from its run's cache) travel with it, so no
     * executor loads the reference or touches the run directory.
     */
    private record Rebuild(double[][] ref) implements Replica.Builder {
        @Override
        public Objective build(ObjectNode settings, Kernels kernels) throws IOException {
            return new KtoTrainer(StageConfig.read(settings, KtoOptions.class), kernels,
                    new PrintStream(OutputStream.nullOutputStream()), ref);
        }
    }

    @Override
    public Replica replica() {
        return Replica.of(cfg.toJson(), new Rebuild(ref.train()));
    }

    /**
     * The examples of a dataset with their KL sequences. An example whose completion has no token
     * left after truncation is reported with its line and left out (before the pairing, as TRL
     * drops them); no example left is an error.
     */
    static List<KtoExample> examples(Dataset d, ExampleEncoder enc, Collator collator, int groupSize,
                                     PrintStream log) {
        List<int[]> prompts = new ArrayList<>();
        List<int[]> completions = new ArrayList<>();
        List<Boolean> labels = new ArrayList<>();
        List<Long> lines = new ArrayList<>();
        List<Long> empty = new ArrayList<>();
        int truncated = 0;
        for (int i = 0; i < d.records().size(); i++) {
            DataRecord.Unpaired u = (DataRecord.Unpaired) d.records().get(i);
            int[] prompt = enc.promptIds(u.prompt());
            int[] completion = enc.responseIds(u.completion());
            TrainingBatch b = collator.collate(List.of(ExampleEncoder.promptAndCompletion(prompt, completion)));
            truncated += b.truncated();
            if (b.trainedTokens() == 0) {
                empty.add(d.lines().get(i));
                continue;
            }
            prompts.add(prompt);
            completions.add(completion);
            labels.add(u.label());
            lines.add(d.lines().get(i));
        }
        if (truncated > 0) {
            log.printf("%s: %d sequence(s) exceed %d tokens and are truncated%n", d.file(), truncated,
                    collator.maxLength());
        }
        if (!empty.isEmpty()) {
            log.printf("%s: %d example(s) left out: the completion is empty after truncation to %d tokens, at line(s)"
                    + " %s%n", d.file(), empty.size(), collator.maxLength(), summarize(empty));
        }
        if (prompts.isEmpty()) {
            throw new UserInputException(d.file() + ": no example keeps a token of its completion within --max-length "
                    + collator.maxLength() + "; raise it or use --truncation left");
        }
        List<KtoExample> out = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            int group = i - i % groupSize;
            int size = Math.min(groupSize, prompts.size() - group);
            // TRL: [completions[-1]] + completions[:-1] within each group of the batch size
            int other = group + (i - group + size - 1) % size;
            out.add(new KtoExample(ExampleEncoder.promptAndCompletion(prompts.get(i), completions.get(i)),
                    ExampleEncoder.promptAndCompletion(prompts.get(i), completions.get(other)), labels.get(i),
                    lines.get(i)));
        }
        return out;
    }

    /** The examples as the reference cache's rows: the completion, and its KL sequence where the loss uses one. */
    private List<List<Example>> rows(List<KtoExample> examples) {
        if (examples == null) {
            return null;
        }
        return examples.stream().map(e -> loss.type().usesKl() ? List.of(e.completion(), e.kl())
                : List.of(e.completion())).toList();
    }

    private static String summarize(List<Long> lines) {
        return lines.size() <= 10 ? lines.toString() : lines.subList(0, 10) + " and " + (lines.size() - 10) + " more";
    }

    @Override
    public List<Trainee> trainees() {
        return List.of(new Trainee("model", model, modelDir));
    }

    @Override
    public int[] trainLengths() {
        // the KL sequence runs beside its example when the loss uses it
        return train.stream().mapToInt(e -> e.completion().length() + (loss.type().usesKl() ? e.kl().length() : 0))
                .toArray();
    }

    private record Batch(int[] examples, TrainingBatch batch, TrainingBatch kl, long inputTokens)
            implements MicroBatch {
        public double weight() {
            return examples.length;
        }
    }

    private Batch batch(List<KtoExample> examples, int[] idx) {
        List<Example> main = new ArrayList<>(idx.length);
        List<Example> kl = new ArrayList<>(idx.length);
        long tokens = 0;
        for (int i : idx) {
            main.add(examples.get(i).completion());
            kl.add(examples.get(i).kl());
            tokens += examples.get(i).completion().length() + (loss.type().usesKl() ? examples.get(i).kl().length() : 0);
        }
        return new Batch(idx, collator.collate(main), loss.type().usesKl() ? collator.collate(kl) : null, tokens);
    }

    @Override
    public MicroBatch prepare(int[] examples) {
        return batch(train, examples);
    }

    /**
     * Loss of a micro-batch; with {@code dLogp} non-null also {@code scale · dLoss/dlogp} per
     * example. The KL sequences run first, forward only: the estimate carries no gradient.
     */
    private void lossOf(List<KtoExample> examples, Batch b, double[][] refs, double scale, double[] dLogp,
                        Metrics m) {
        int n = b.examples().length;
        double kl = 0;
        if (b.kl() != null) {
            double[] klLp = logProbs.forward(b.kl().inputs(), b.kl().targets(), b.kl().lossMask())[0];
            double[] klRef = new double[n];
            for (int k = 0; k < n; k++) {
                klRef[k] = refs[b.examples()[k]][1];
            }
            kl = KtoLoss.klEstimate(klLp, klRef);
        }
        double[][] lp = logProbs.forward(b.batch().inputs(), b.batch().targets(), b.batch().lossMask());
        double[] rewards = new double[2];
        double[] logps = new double[2];
        int[] counts = new int[2];
        for (int k = 0; k < n; k++) {
            KtoExample e = examples.get(b.examples()[k]);
            KtoLoss.Result r = KtoLoss.of(loss, e.desirable(), lp[0][k], refs[b.examples()[k]][0], kl);
            if (dLogp != null) {
                dLogp[k] = scale * r.dLogp();
            }
            m.mean("loss", r.loss(), 1);
            int side = e.desirable() ? 0 : 1;
            rewards[side] += r.reward();
            logps[side] += lp[0][k];
            counts[side]++;
        }
        // TRL's names: chosen are the desirable examples, rejected the undesirable ones
        if (counts[0] > 0) {
            m.mean("rewards/chosen", rewards[0], counts[0]);
            m.mean("logps/chosen", logps[0], counts[0]);
        }
        if (counts[1] > 0) {
            m.mean("rewards/rejected", rewards[1], counts[1]);
            m.mean("logps/rejected", logps[1], counts[1]);
        }
        if (counts[0] > 0 && counts[1] > 0) {
            // TRL logs each batch's difference of the two means, averaged over batches
            m.mean("rewards/margins", rewards[0] / counts[0] - rewards[1] / counts[1], 1);
        }
        if (loss.type().usesKl()) {
            m.mean("kl", kl, 1);
        }
    }

    @Override
    public void forwardBackward(MicroBatch micro, double scale, Metrics metrics) {
        Batch b = (Batch) micro;
        double[] d = new double[b.examples().length];
        lossOf(train, b, ref.train(), scale, d, metrics);
        logProbs.backward(d);
    }

    @Override
    public boolean hasValidation() {
        return val != null;
    }

    /** Validation in file order, in groups of the batch size: each group's KL sequences are its own completions. */
    @Override
    public Map<String, Double> evaluate() {
        return Metrics.inBatches(val.size(), opts.batchSize(),
                (idx, m) -> lossOf(val, batch(val, idx), ref.val(), 0, null, m));
    }

    @Override
    public BestMetric bestMetric() {
        return new BestMetric("loss", false);
    }
}
