package org.align4j.dpo;

import org.align4j.core.util.UserInputException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.checkpoint.ModelSource;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.loss.SequenceLogProbs;
import org.align4j.core.model.DecoderModel;
import org.align4j.data.batch.Collator;
import org.align4j.data.batch.Example;
import org.align4j.data.batch.ExampleEncoder;
import org.align4j.data.batch.TrainingBatch;
import org.align4j.data.format.DataRecord;
import org.align4j.data.format.Dataset;
import org.align4j.data.format.RecordKind;
import org.align4j.data.prepare.RankingPairs;
import org.align4j.train.LoopResult;
import org.align4j.train.Metrics;
import org.align4j.train.Objective;
import org.align4j.train.ReferenceCache;
import org.align4j.train.SettingsException;
import org.align4j.train.StageConfig;
import org.align4j.train.TrainingData;
import org.align4j.train.TrainingLoop;
import org.align4j.train.TrainingOptions;
import org.align4j.train.scale.Cluster;
import org.align4j.train.scale.Replica;
import org.align4j.train.scale.ScaleOut;
import org.nd4j.linalg.api.buffer.DataType;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Direct preference optimisation and its family on the shared {@link TrainingLoop}. A pair's
 * chosen and rejected sequences run in one padded batch with the other pairs of the
 * micro-batch; sequence log-probabilities sum over response tokens only (prompt tokens are
 * masked), and {@link DpoLoss} turns them into the loss and its gradient. Reference
 * log-probabilities come from the {@link ReferenceCache}; reference-free losses load no
 * reference. Metrics use TRL's names; {@code best/} is chosen by validation loss.
 */
public final class DpoTrainer implements Objective {

    public static final Set<RecordKind> KINDS = Set.of(RecordKind.PREFERENCE, RecordKind.RANKING);

    private final StageConfig<DpoOptions> cfg;
    private final TrainingOptions opts;
    private final PrintStream log;
    private final Path modelDir;
    private final DecoderModel model;
    private final SequenceLogProbs logProbs;
    private final Collator collator;
    private final DpoLoss.Settings loss;
    private final List<PreferencePair> train;
    private final List<PreferencePair> val;
    private final ReferenceCache.LogProbs ref;

    /**
     * {@code givenRef}: the train pairs' reference log-probabilities computed by the driver (an
     * executor's replica); null: the cache's, computed on {@code scaleOut}'s executors when it is not
     * null and the cache does not match.
     */
    private DpoTrainer(StageConfig<DpoOptions> cfg, Kernels kernels, PrintStream log, double[][] givenRef,
                       ScaleOut scaleOut) throws IOException {
        this.cfg = cfg;
        this.opts = cfg.training();
        this.log = log;
        this.modelDir = Path.of(opts.model());
        this.loss = cfg.stage().lossSettings();
        Dataset trainData = TrainingData.read(opts, opts.trainFile(), "train", KINDS, log);
        Dataset valData = opts.valFile() == null ? null : TrainingData.read(opts, opts.valFile(), "validation", KINDS,
                log);
        this.model = opts.source().load(kernels, DataType.FLOAT, opts.setup(false));
        ExampleEncoder enc = ExampleEncoder.forModel(modelDir, model.config().eosTokenId());
        int maxLength = opts.sequenceLength(model);
        this.collator = new Collator(maxLength, opts.truncation(), enc.eosTokenId());
        this.train = pairs(trainData, enc, collator, log);
        this.val = valData == null ? null : pairs(valData, enc, collator, log);
        this.logProbs = new SequenceLogProbs(model);
        if (loss.type().needsReference() && givenRef != null) {
            this.ref = new ReferenceCache.LogProbs(givenRef, null);
        } else if (loss.type().needsReference()) {
            ModelSource refSource = cfg.stage().refModel() != null ? ModelSource.of(Path.of(cfg.stage().refModel()))
                    : opts.source();
            this.ref = ReferenceCache.load(Path.of(opts.outputDir()), refSource, rows(train), rows(val), collator,
                    opts.batchSize(), kernels, log, opts.lora() != null && cfg.stage().refModel() == null ? model : null,
                    "pair", scaleOut == null ? null : referenceOn(cfg, scaleOut));
        } else {
            this.ref = null;
            log.println("--loss " + loss.type() + " is reference-free: no reference model loaded");
        }
    }

    /** Trains as configured; {@code resume} continues the run in {@code output_dir}. */
    public static LoopResult run(StageConfig<DpoOptions> cfg, Kernels kernels, PrintStream log, boolean resume)
            throws IOException {
        return run(cfg, kernels, log, resume, null);
    }

    /**
     * As {@link #run(StageConfig, Kernels, PrintStream, boolean)}, each step's micro-batches on
     * {@code scaleOut} (null: in this process).
     */
    public static LoopResult run(StageConfig<DpoOptions> cfg, Kernels kernels, PrintStream log, boolean resume,
                                 ScaleOut scaleOut) throws IOException {
        if (cfg.stage().online()) {
            throw new IllegalArgumentException("online DPO runs through OnlineDpoTrainer.run, with its judge");
        }
        check(cfg);
        // the models are checked before the run directory is touched
        ReferenceCache.checkModels(Path.of(cfg.training().model()), cfg.stage().refModel());
        return new TrainingLoop(cfg.training(), cfg.toJson(), log).scaleOut(scaleOut)
                .run(() -> new DpoTrainer(cfg, kernels, log, null, scaleOut), resume);
    }

    /**
     * The reference pass on executors: they receive the model files once for the job and load the
     * reference as {@link #reference} says, the model this process would read.
     */
    private static ReferenceCache.Remote referenceOn(StageConfig<DpoOptions> cfg, ScaleOut scaleOut) {
        Replica settings = new Replica(cfg.toJson().toString(), List.of("model", "adapter", "ref_model"),
                new Rebuild(null));
        return new ReferenceCache.Remote(scaleOut, settings.files(), new ReferenceOnExecutor(settings));
    }

    /** Loads the reference on an executor from its copies of the model files. */
    private record ReferenceOnExecutor(Replica settings) implements ReferenceCache.Loader {
        @Override
        public DecoderModel load(Cluster.Shipped files, Kernels kernels) throws IOException {
            return reference(StageConfig.read(settings.settingsAt(files), DpoOptions.class), kernels);
        }
    }

    /**
     * The frozen reference as this process's pass reads it: {@code --ref-model}; else {@code --model}
     * (and its adapter), with {@code --lora-r} loaded as the policy is (fresh adapters on a base that
     * may be quantized or have a stored adapter merged) and its fresh adapters switched off.
     */
    static DecoderModel reference(StageConfig<DpoOptions> cfg, Kernels kernels) throws IOException {
        TrainingOptions o = cfg.training();
        if (cfg.stage().refModel() != null) {
            return ModelSource.of(Path.of(cfg.stage().refModel())).load(kernels, DataType.FLOAT, false);
        }
        if (o.lora() != null) {
            DecoderModel m = o.source().load(kernels, DataType.FLOAT, o.setup(false));
            m.setAdaptersEnabled(false);
            return m;
        }
        return o.source().load(kernels, DataType.FLOAT, false);
    }

    /**
     * An executor's copy: the same settings give the same pairs in the same order; the reference
     * log-probabilities the driver computed (or read from its run's cache) travel with it, so no
     * executor loads the reference or touches the run directory.
     */
    private record Rebuild(double[][] ref) implements Replica.Builder {
        @Override
        public Objective build(ObjectNode settings, Kernels kernels) throws IOException {
            return new DpoTrainer(StageConfig.read(settings, DpoOptions.class), kernels,
                    new PrintStream(OutputStream.nullOutputStream()), ref, null);
        }
    }

    @Override
    public Replica replica() {
        return Replica.of(cfg.toJson(), new Rebuild(ref == null ? null : ref.train()));
    }

    /** Refuses settings that cannot run together, before any work. */
    static void check(StageConfig<DpoOptions> cfg) {
        List<String> p = cfg.stage().problems(cfg.training());
        if (!p.isEmpty()) {
            throw new SettingsException(p);
        }
    }

    /**
     * The pairs of a dataset (rankings expanded to every untied pair); a pair whose chosen or
     * rejected response has no token left after truncation is reported with its line and left out.
     */
    static List<PreferencePair> pairs(Dataset d, ExampleEncoder enc, Collator collator, PrintStream log) {
        List<PreferencePair> out = new ArrayList<>();
        List<Long> empty = new ArrayList<>();
        List<Long> tied = new ArrayList<>();
        int truncated = 0;
        for (int i = 0; i < d.records().size(); i++) {
            DataRecord r = d.records().get(i);
            long line = d.lines().get(i);
            List<DataRecord.Preference> prefs = r instanceof DataRecord.Ranking k ? RankingPairs.expand(k)
                    : List.of((DataRecord.Preference) r);
            if (prefs.isEmpty()) {
                tied.add(line);
            }
            for (DataRecord.Preference p : prefs) {
                int[] prompt = enc.promptIds(p.prompt());
                Example c = ExampleEncoder.promptAndCompletion(prompt, enc.responseIds(p.chosen()));
                Example rj = ExampleEncoder.promptAndCompletion(prompt, enc.responseIds(p.rejected()));
                TrainingBatch b = collator.collate(List.of(c, rj));
                truncated += b.truncated();
                if (trainedIn(b, 0) == 0 || trainedIn(b, 1) == 0) {
                    empty.add(line);
                    continue;
                }
                out.add(new PreferencePair(c, rj, line));
            }
        }
        if (truncated > 0) {
            log.printf("%s: %d sequence(s) exceed %d tokens and are truncated%n", d.file(), truncated,
                    collator.maxLength());
        }
        if (!empty.isEmpty()) {
            log.printf("%s: %d pair(s) left out: a response is empty after truncation to %d tokens, at line(s) %s%n",
                    d.file(), empty.size(), collator.maxLength(), summarize(empty));
        }
        if (!tied.isEmpty()) {
            log.printf("%s: %d ranking(s) left out: every response tied, no pair to learn from, at line(s) %s%n",
                    d.file(), tied.size(), summarize(tied));
        }
        if (out.isEmpty()) {
            // say what happened: truncation is to blame only when it emptied a response
            throw new UserInputException(empty.isEmpty()
                    ? d.file() + ": no record gives a preference pair: every ranking ties all its responses, at"
                            + " line(s) " + summarize(tied) + "; rank the responses, or label them again"
                    : d.file() + ": no pair keeps a token of both responses within --max-length "
                            + collator.maxLength() + "; raise it or use --truncation left");
        }
        return out;
    }

    /** The pairs as the reference cache's rows: chosen, rejected. */
    private static List<List<Example>> rows(List<PreferencePair> pairs) {
        return pairs == null ? null : pairs.stream().map(p -> List.of(p.chosen(), p.rejected())).toList();
    }

    private static int trainedIn(TrainingBatch b, int row) {
        int t = b.inputs().time();
        int n = 0;
        for (int j = 0; j < t; j++) {
            n += b.lossMask()[row * t + j] != 0f ? 1 : 0;
        }
        return n;
    }

    private static String summarize(List<Long> lines) {
        List<Long> distinct = lines.stream().distinct().toList();
        return distinct.size() <= 10 ? distinct.toString() : distinct.subList(0, 10) + " and " + (distinct.size() - 10)
                + " more";
    }

    @Override
    public List<Trainee> trainees() {
        return List.of(new Trainee("model", model, modelDir));
    }

    @Override
    public int[] trainLengths() {
        return train.stream().mapToInt(PreferencePair::length).toArray();
    }

    record Batch(int[] pairs, TrainingBatch batch, long inputTokens) implements MicroBatch {
        public double weight() {
            return pairs.length;
        }
    }

    static Batch batch(List<PreferencePair> pairs, int[] idx, Collator collator) {
        List<Example> ex = new ArrayList<>(idx.length * 2);
        long tokens = 0;
        for (int i : idx) {
            ex.add(pairs.get(i).chosen());
            ex.add(pairs.get(i).rejected());
            tokens += pairs.get(i).length();
        }
        return new Batch(idx, collator.collate(ex), tokens);
    }

    @Override
    public MicroBatch prepare(int[] examples) {
        return batch(train, examples, collator);
    }

    /** Loss of a batch; with {@code dLogp} non-null also {@code scale · dLoss/dlogp} per sequence. */
    private void lossOf(Batch b, double[][] refs, double scale, double[] dLogp, Metrics m) {
        double[][] lp = logProbs.forward(b.batch().inputs(), b.batch().targets(), b.batch().lossMask());
        for (int k = 0; k < b.pairs().length; k++) {
            double[] r = refs == null ? new double[2] : refs[b.pairs()[k]];
            DpoLoss.Pair p = DpoLoss.pair(loss, lp[0][2 * k], lp[0][2 * k + 1], r[0], r[1], lp[1][2 * k],
                    lp[1][2 * k + 1]);
            if (dLogp != null) {
                dLogp[2 * k] = scale * p.dChosen();
                dLogp[2 * k + 1] = scale * p.dRejected();
            }
            record(m, p, lp[0][2 * k], lp[0][2 * k + 1]);
        }
    }

    /** A pair's loss and TRL's DPO metrics ({@code lc, lr}: the policy's summed log-probabilities). */
    static void record(Metrics m, DpoLoss.Pair p, double lc, double lr) {
        m.mean("loss", p.loss(), 1);
        m.mean("rewards/chosen", p.rewardChosen(), 1);
        m.mean("rewards/rejected", p.rewardRejected(), 1);
        m.mean("rewards/margins", p.rewardChosen() - p.rewardRejected(), 1);
        m.mean("rewards/accuracies", p.rewardChosen() > p.rewardRejected() ? 1 : 0, 1);
        m.mean("logps/chosen", lc, 1);
        m.mean("logps/rejected", lr, 1);
    }

    @Override
    public void forwardBackward(MicroBatch micro, double scale, Metrics metrics) {
        Batch b = (Batch) micro;
        double[] d = new double[b.pairs().length * 2];
        lossOf(b, ref == null ? null : ref.train(), scale, d, metrics);
        logProbs.backward(d);
    }

    @Override
    public boolean hasValidation() {
        return val != null;
    }

    @Override
    public Map<String, Double> evaluate() {
        return Metrics.inBatches(val.size(), opts.batchSize(),
                (idx, m) -> lossOf(batch(val, idx, collator), ref == null ? null : ref.val(), 0, null, m));
    }

    @Override
    public BestMetric bestMetric() {
        return new BestMetric("loss", false);
    }
}
