package org.align4j.sft;

import org.align4j.core.util.UserInputException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.checkpoint.ModelKind;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.loss.LanguageModelLoss;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.run.RunDirectory;
import org.align4j.data.batch.Collator;
import org.align4j.data.batch.Example;
import org.align4j.data.batch.ExampleEncoder;
import org.align4j.data.batch.Packer;
import org.align4j.data.batch.TrainingBatch;
import org.align4j.data.format.DataRecord;
import org.align4j.data.format.Dataset;
import org.align4j.data.format.RecordKind;
import org.align4j.train.LoopResult;
import org.align4j.train.LossEvaluation;
import org.align4j.train.Metrics;
import org.align4j.train.Objective;
import org.align4j.train.StageConfig;
import org.align4j.train.TrainingData;
import org.align4j.train.TrainingLoop;
import org.align4j.train.TrainingOptions;
import org.align4j.train.eval.Evaluator;
import org.align4j.train.scale.Replica;
import org.align4j.train.scale.ScaleOut;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Supervised fine-tuning on the shared {@link TrainingLoop}: next-token cross-entropy on the
 * trained tokens of each example (all tokens of text, completions of prompt-completion pairs,
 * assistant turns of chats), as the mean over the trained tokens of a whole step.
 */
public final class SftTrainer implements Objective {

    public static final Set<RecordKind> KINDS = Evaluator.KINDS;

    private final StageConfig<SftOptions> cfg;
    private final TrainingOptions opts;
    private final PrintStream log;
    private final Path modelDir;
    private final DecoderModel model;
    private final ExampleEncoder enc;
    private final Collator collator;
    private final List<Example> train;
    private final boolean packed;
    private final Dataset valData;
    private final List<Example> val;

    private SftTrainer(StageConfig<SftOptions> cfg, Kernels kernels, PrintStream log) throws IOException {
        this.cfg = cfg;
        this.opts = cfg.training();
        this.log = log;
        this.modelDir = Path.of(opts.model());
        Dataset trainData = read(opts.trainFile(), "train");
        this.valData = opts.valFile() == null ? null : read(opts.valFile(), "validation");
        this.model = opts.source().load(kernels, DataType.FLOAT, opts.setup(false));
        this.enc = ExampleEncoder.forModel(modelDir, model.config().eosTokenId());
        int maxLength = opts.sequenceLength(model);
        this.collator = new Collator(maxLength, opts.truncation(), enc.eosTokenId());
        this.packed = cfg.stage().packing() && trainData.kind() == RecordKind.TEXT;
        this.train = usable(encode(trainData, maxLength, packed), opts.trainFile(), maxLength);
        this.val = valData == null ? null : usable(encode(valData, maxLength, false), opts.valFile(), maxLength);
        log.printf("max length %d tokens (%s truncation)%n", maxLength, opts.truncation().name().toLowerCase());
    }

    /** Runs SFT as configured; {@code resume} continues the run in {@code output_dir}. */
    public static LoopResult run(StageConfig<SftOptions> cfg, Kernels kernels, PrintStream log, boolean resume)
            throws IOException {
        return run(cfg, kernels, log, resume, null);
    }

    /**
     * As {@link #run(StageConfig, Kernels, PrintStream, boolean)}, each step's micro-batches on
     * {@code scaleOut} (null: in this process).
     */
    public static LoopResult run(StageConfig<SftOptions> cfg, Kernels kernels, PrintStream log, boolean resume,
                                 ScaleOut scaleOut) throws IOException {
        // a reward model is refused before the run directory is touched
        ModelKind.requireCausalLm(Path.of(cfg.training().model()));
        return new TrainingLoop(cfg.training(), cfg.toJson(), log).scaleOut(scaleOut)
                .run(() -> new SftTrainer(cfg, kernels, log), resume);
    }

    /** An executor's copy for data-parallel steps: the same settings, so the same examples in the same order. */
    private static Objective replicaOf(ObjectNode settings, Kernels kernels) throws IOException {
        return new SftTrainer(StageConfig.read(settings, SftOptions.class), kernels,
                new PrintStream(OutputStream.nullOutputStream()));
    }

    @Override
    public Replica replica() {
        return Replica.of(cfg.toJson(), SftTrainer::replicaOf);
    }

    private Dataset read(String file, String what) throws IOException {
        return TrainingData.read(opts, file, what, KINDS, log);
    }

    private List<Example> encode(Dataset d, int maxLength, boolean pack) {
        List<Example> ex = new ArrayList<>(d.records().size());
        for (DataRecord r : d.records()) {
            ex.add(enc.encode(r));
        }
        return pack ? Packer.pack(ex, maxLength) : ex;
    }

    /**
     * Drops examples with no trained token left after truncation, saying how many; refuses data
     * where none is left, rather than "train" on nothing.
     */
    private List<Example> usable(List<Example> examples, String file, int maxLength) {
        List<Example> kept = new ArrayList<>(examples.size());
        int truncated = 0;
        for (Example e : examples) {
            truncated += e.length() > maxLength + 1 ? 1 : 0;
            TrainingBatch b = collator.collate(List.of(e));
            if (b.trainedTokens() > 0) {
                kept.add(e);
            }
        }
        if (truncated > 0) {
            log.printf("%s: %d example(s) exceed %d tokens and are truncated (%s)%n", file, truncated, maxLength,
                    opts.truncation().name().toLowerCase());
        }
        int dropped = examples.size() - kept.size();
        if (kept.isEmpty()) {
            throw new UserInputException(file + ": no example has a trained token within --max-length "
                    + maxLength + " (" + examples.size() + " example(s); prompts fill the whole length?). Raise"
                    + " --max-length, shorten the prompts, or use --truncation left.");
        }
        if (dropped > 0) {
            log.printf("%s: %d example(s) left out: no trained token within %d tokens after %s truncation%n", file,
                    dropped, maxLength, opts.truncation().name().toLowerCase());
        }
        return kept;
    }

    @Override
    public List<Trainee> trainees() {
        return List.of(new Trainee("model", model, modelDir));
    }

    @Override
    public int[] trainLengths() {
        return train.stream().mapToInt(Example::length).toArray();
    }

    @Override
    public boolean groupByLength() {
        return !packed;
    }

    private record Batch(TrainingBatch batch, long inputTokens) implements MicroBatch {
        public double weight() {
            return batch.trainedTokens();
        }
    }

    @Override
    public MicroBatch prepare(int[] examples) {
        List<Example> ex = new ArrayList<>(examples.length);
        for (int i : examples) {
            ex.add(train.get(i));
        }
        TrainingBatch tb = collator.collate(ex);
        long inputs = 0;
        for (float m : tb.inputs().keyMask()) {
            inputs += m != 0f ? 1 : 0;
        }
        return new Batch(tb, inputs);
    }

    @Override
    public void forwardBackward(MicroBatch micro, double scale, Metrics metrics) {
        TrainingBatch tb = ((Batch) micro).batch();
        float[] w = new float[tb.lossMask().length];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (tb.lossMask()[i] * scale);
        }
        int[] predictions = new int[w.length];
        double loss = LanguageModelLoss.forwardBackward(model, tb.inputs(), tb.targets(), w, predictions);
        metrics.mean("loss", loss / scale, tb.trainedTokens());
        metrics.mean("mean_token_accuracy", LossEvaluation.correctCount(predictions, tb), tb.trainedTokens());
        metrics.total("num_tokens", tb.trainedTokens());
    }

    @Override
    public boolean hasValidation() {
        return val != null;
    }

    @Override
    public Map<String, Double> evaluate() {
        LossEvaluation.Result v = LossEvaluation.evaluate(model, val, collator, opts.batchSize());
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("loss", v.loss());
        m.put("perplexity", v.perplexity());
        m.put("mean_token_accuracy", v.meanTokenAccuracy());
        return m;
    }

    @Override
    public BestMetric bestMetric() {
        return new BestMetric("loss", false);
    }

    @Override
    public void finish(RunDirectory run, PrintStream out) {
        int n = cfg.stage().showSamples();
        if (n <= 0 || valData == null || valData.kind() == RecordKind.TEXT) {
            return;
        }
        List<DataRecord> first = valData.records().subList(0, Math.min(n, valData.records().size()));
        var report = new Evaluator(model, enc).evaluate(first, opts.batchSize(), true, 32, null);
        out.println("answers of the trained model to validation prompts:");
        for (var sample : report.samples()) {
            out.printf("  > %s%n    %s%n", sample.prompt().replace("\n", " | "), sample.prediction());
        }
    }
}
