package org.align4j.reward;

import org.align4j.core.util.UserInputException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.align4j.core.kernels.Kernels;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.model.ScoreHead;
import org.align4j.core.model.TokenBatch;
import org.align4j.core.run.RunDirectory;
import org.align4j.data.batch.ExampleEncoder;
import org.align4j.data.format.Content;
import org.align4j.data.format.DataRecord;
import org.align4j.data.format.Dataset;
import org.align4j.data.format.RecordKind;
import org.align4j.train.LoopResult;
import org.align4j.train.Metrics;
import org.align4j.train.Objective;
import org.align4j.train.StageConfig;
import org.align4j.train.TrainingData;
import org.align4j.train.TrainingLoop;
import org.align4j.train.TrainingOptions;
import org.align4j.train.scale.Replica;
import org.align4j.train.scale.ScaleOut;
import org.nd4j.linalg.api.buffer.DataType;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Stage 2 on the shared {@link TrainingLoop}: a GPT-2 backbone with a scalar head read at the
 * last token of each response, trained on preference pairs and K-way rankings (the labeling
 * CLI's exports among them) with the pairwise loss of {@link RewardLoss}. The K responses of a
 * prompt run in one forward; a batch of {@code batch_size} prompts is one padded batch. The head
 * of a model that has none (an SFT or base model) starts at zero, so every response starts at
 * reward 0 and the first loss is exactly ln 2. {@code best/} is chosen by validation accuracy.
 * At the end, the mean and standard deviation of the rewards of the training responses are
 * stored beside the weights ({@link RewardStats}).
 */
public final class RewardTrainer implements Objective {

    public static final Set<RecordKind> KINDS = Set.of(RecordKind.PREFERENCE, RecordKind.RANKING);

    private final StageConfig<RewardOptions> cfg;
    private final TrainingOptions opts;
    private final Kernels kernels;
    private final PrintStream log;
    private final Path modelDir;
    private final DecoderModel model;
    private final ScoreHead head;
    private final RewardScorer scorer;
    private final List<RewardGroup> train;
    private final List<RewardGroup> val;

    private RewardTrainer(StageConfig<RewardOptions> cfg, Kernels kernels, PrintStream log) throws IOException {
        this.cfg = cfg;
        this.opts = cfg.training();
        this.kernels = kernels;
        this.log = log;
        this.modelDir = Path.of(opts.model());
        Dataset trainData = read(opts.trainFile(), "train");
        Dataset valData = opts.valFile() == null ? null : read(opts.valFile(), "validation");
        boolean hadHead = opts.source().hasScoreHead();
        this.model = opts.source().load(kernels, DataType.FLOAT, opts.setup(true));
        log.println(hadHead ? "continuing the reward model in " + modelDir
                : "score head initialised to zero on " + modelDir + " (every response starts at reward 0)");
        this.head = new ScoreHead(model);
        ExampleEncoder enc = ExampleEncoder.forModel(modelDir, model.config().eosTokenId());
        this.scorer = new RewardScorer(model, enc, opts.maxLength());
        this.train = groups(trainData, enc, opts.trainFile());
        this.val = valData == null ? null : groups(valData, enc, opts.valFile());
        log.printf("max length %d tokens (longer sequences keep their end, where the score is read)%n",
                scorer.maxLength());
    }

    /** Trains a reward model as configured; {@code resume} continues the run in {@code output_dir}. */
    public static LoopResult run(StageConfig<RewardOptions> cfg, Kernels kernels, PrintStream log, boolean resume)
            throws IOException {
        return run(cfg, kernels, log, resume, null);
    }

    /**
     * As {@link #run(StageConfig, Kernels, PrintStream, boolean)}, each step's micro-batches on
     * {@code scaleOut} (null: in this process).
     */
    public static LoopResult run(StageConfig<RewardOptions> cfg, Kernels kernels, PrintStream log, boolean resume,
                                 ScaleOut scaleOut) throws IOException {
        return new TrainingLoop(cfg.training(), cfg.toJson(), log).scaleOut(scaleOut)
                .run(() -> new RewardTrainer(cfg, kernels, log), resume);
    }

    /** An executor's copy for data-parallel steps: the same settings, so the same groups in the same order. */
    private static Objective replicaOf(ObjectNode settings, Kernels kernels) throws IOException {
        return new RewardTrainer(StageConfig.read(settings, RewardOptions.class), kernels,
                new PrintStream(OutputStream.nullOutputStream()));
    }

    @Override
    public Replica replica() {
        return Replica.of(cfg.toJson(), RewardTrainer::replicaOf);
    }

    private Dataset read(String file, String what) throws IOException {
        return TrainingData.read(opts, file, what, KINDS, log);
    }

    /** The groups of a dataset; records without a pair (a ranking of one group) are left out and counted. */
    static List<RewardGroup> groups(Dataset d, ExampleEncoder enc, int maxLength, PrintStream log, String file) {
        List<RewardGroup> out = new ArrayList<>();
        int truncated = 0;
        int noPair = 0;
        for (DataRecord r : d.records()) {
            List<RewardGroup.Pair> pairs = RewardGroup.pairsOf(r);
            if (pairs.isEmpty()) {
                noPair++;
                continue;
            }
            List<int[]> seqs = new ArrayList<>();
            for (Content[] pr : RewardGroup.promptResponses(r)) {
                int[] ids = enc.scoredSequence(pr[0], pr[1]);
                truncated += ids.length > maxLength ? 1 : 0;
                seqs.add(RewardScorer.fit(ids, maxLength, enc.eosTokenId()));
            }
            List<List<Integer>> ranking = r instanceof DataRecord.Ranking k ? k.ranking()
                    : List.of(List.of(0), List.of(1));
            out.add(new RewardGroup(seqs, pairs, ranking));
        }
        if (truncated > 0) {
            log.printf("%s: %d response(s) exceed %d tokens with their prompt; their first tokens are cut%n", file,
                    truncated, maxLength);
        }
        if (noPair > 0) {
            log.printf("%s: %d record(s) left out: every response tied, no pair to learn from%n", file, noPair);
        }
        if (out.isEmpty()) {
            throw new UserInputException(file + ": no record gives a preference pair (all responses tied)");
        }
        return out;
    }

    private List<RewardGroup> groups(Dataset d, ExampleEncoder enc, String file) {
        return groups(d, enc, scorer.maxLength(), log, file);
    }

    @Override
    public List<Trainee> trainees() {
        return List.of(new Trainee("model", model, modelDir));
    }

    @Override
    public int[] trainLengths() {
        return train.stream().mapToInt(RewardGroup::length).toArray();
    }

    private record Batch(List<RewardGroup> groups, int[] offsets, TokenBatch tokens, long inputTokens)
            implements MicroBatch {
        public double weight() {
            return groups.size();
        }
    }

    @Override
    public MicroBatch prepare(int[] examples) {
        List<RewardGroup> gs = new ArrayList<>(examples.length);
        List<int[]> seqs = new ArrayList<>();
        int[] offsets = new int[examples.length];
        long tokens = 0;
        for (int i = 0; i < examples.length; i++) {
            RewardGroup g = train.get(examples[i]);
            gs.add(g);
            offsets[i] = seqs.size();
            seqs.addAll(g.sequences());
            tokens += g.length();
        }
        return new Batch(gs, offsets, TokenBatch.rightPadded(seqs.toArray(new int[0][]), scorer.encoder().eosTokenId()),
                tokens);
    }

    @Override
    public void forwardBackward(MicroBatch micro, double scale, Metrics metrics) {
        Batch b = (Batch) micro;
        double[] scores = head.forward(b.tokens());
        double[] dScores = new double[scores.length];
        RewardLoss.compute(b.groups(), b.offsets(), scores, cfg.stage().centerRewardsCoefficient(), scale, dScores,
                metrics);
        head.backward(dScores);
    }

    @Override
    public boolean hasValidation() {
        return val != null;
    }

    /** Pair metrics over the validation prompts, and for rankings of more than two, top-1 accuracy and Kendall's tau. */
    @Override
    public Map<String, Double> evaluate() {
        return evaluate(scorer, val, cfg.stage().centerRewardsCoefficient(), opts.batchSize());
    }

    static Map<String, Double> evaluate(RewardScorer scorer, List<RewardGroup> groups, double center, int batchSize) {
        List<int[]> seqs = new ArrayList<>();
        int[] offsets = new int[groups.size()];
        for (int g = 0; g < groups.size(); g++) {
            offsets[g] = seqs.size();
            seqs.addAll(groups.get(g).sequences());
        }
        double[] scores = scorer.score(seqs, Math.max(2, batchSize * 2));
        Metrics m = new Metrics();
        RewardLoss.compute(groups, offsets, scores, center, 0, null, m);
        for (int g = 0; g < groups.size(); g++) {
            RewardGroup group = groups.get(g);
            if (group.sequences().size() > 2) {
                double[] s = java.util.Arrays.copyOfRange(scores, offsets[g], offsets[g] + group.sequences().size());
                m.mean("top1_accuracy", RankingMetrics.top1(group.ranking(), s) ? 1 : 0, 1);
                double tau = RankingMetrics.kendallTauB(group.ranking(), s);
                if (!Double.isNaN(tau)) {
                    m.mean("kendall_tau", tau, 1);
                }
            }
        }
        return new LinkedHashMap<>(m.values());
    }

    @Override
    public BestMetric bestMetric() {
        return new BestMetric("accuracy", true);
    }

    /** Reward statistics over the training responses, for {@code final/} and {@code best/}. */
    @Override
    public void finish(RunDirectory run, PrintStream out) throws IOException {
        List<int[]> seqs = new ArrayList<>();
        train.forEach(g -> seqs.addAll(g.sequences()));
        RewardStats stats = RewardStats.of(scorer.score(seqs, Math.max(2, opts.batchSize() * 2)));
        stats.write(run.finalDir());
        out.printf("rewards of the %d training responses: mean %.4f, std %.4f (stored in %s)%n", stats.count(),
                stats.mean(), stats.std(), run.finalDir().resolve(RewardStats.FILE));
        if (Files.isDirectory(run.bestDir())) {
            RewardScorer best = RewardScorer.load(run.bestDir(), kernels);
            RewardStats.of(best.score(seqs, Math.max(2, opts.batchSize() * 2))).write(run.bestDir());
        }
    }
}
