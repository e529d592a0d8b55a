package org.align4j.pipeline;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.align4j.core.backend.Backend;
import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.generate.Generation;
import org.align4j.core.generate.Generator;
import org.align4j.core.generate.SamplingConfig;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.loss.SequenceLogProbs;
import org.align4j.core.model.DecoderModel;
import org.align4j.data.batch.ExampleEncoder;
import org.align4j.reward.RewardScorer;
import org.align4j.train.scale.Cluster;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * A comparison's model work on one batch of samples: a policy samples the batch, the reference
 * gives the samples' log-probabilities (their log-ratios are the KL estimate), the reward model
 * scores them. The same code runs every batch in one process and on Spark executors, and each row
 * samples from its own generator seeded by its record's index (prompt times samples per prompt plus
 * the sample's index), so the samples do not depend on where a batch ran. The gold judge is not
 * here: it runs on the driver over the gathered samples.
 */
final class ComparisonBatches implements Cluster.SliceWork<ComparisonBatches.Batch, ComparisonBatches.Drawn> {

    private static final long serialVersionUID = 1L;

    /** Names under which a job ships its models (Spark broadcasts them once per job). */
    static final String POLICY = "policy";
    static final String REFERENCE = "reference";
    static final String REWARD_MODEL = "reward_model";

    /** Records {@code first}, {@code first + 1}, ... of the sample list: their prompts' token ids. */
    record Batch(long first, ArrayList<int[]> ids) implements Serializable {
    }

    /**
     * A batch's samples: the response texts and token counts (without the stop token: what the judge
     * reads), all sampled tokens (the mean length reported), the log-ratios to the reference, and the
     * reward model's scores (null without one).
     */
    record Drawn(ArrayList<String> responses, int[] responseTokens, int[] sampledTokens, double[] logRatios,
                 double[] rewards) implements Serializable {
    }

    /** What a batch is computed with; {@code scorer} may be null. */
    record Models(DecoderModel policy, DecoderModel reference, ExampleEncoder enc, RewardScorer scorer) {
    }

    private final SamplingConfig cfg;
    private final int batchSize;

    ComparisonBatches(SamplingConfig cfg, int batchSize) {
        this.cfg = cfg;
        this.batchSize = batchSize;
    }

    /** The sample list cut into batches of {@code batchSize}, the same cut in one process and on a cluster. */
    static List<Batch> batches(List<int[]> ids, int batchSize) {
        List<Batch> out = new ArrayList<>();
        for (int start = 0; start < ids.size(); start += batchSize) {
            out.add(new Batch(start, new ArrayList<>(ids.subList(start, Math.min(ids.size(), start + batchSize)))));
        }
        return out;
    }

    /**
     * The models' files for a job: the policy (null: the reference samples), the reference (its
     * tokenizer too) and the reward model (may be null).
     */
    static Map<String, Path> shipped(Path policy, Path reference, Path rewardModel) {
        Map<String, Path> m = new HashMap<>();
        m.put(POLICY, policy);
        m.put(REFERENCE, reference);
        m.put(REWARD_MODEL, rewardModel);
        return m;
    }

    /** The reference and its encoder, as the driver and every task load them. */
    static Models loadReference(Path referenceDir, Kernels kernels) throws IOException {
        DecoderModel reference = ModelDirectory.load(referenceDir, kernels, DataType.FLOAT);
        ExampleEncoder enc = ExampleEncoder.forModel(referenceDir, reference.config().eosTokenId());
        reference.limitVocabulary(enc.tokenizer());
        return new Models(reference, reference, enc, null);
    }

    /** A policy limited to the reference's vocabulary, as it samples in one process and on an executor. */
    static DecoderModel loadPolicy(Path dir, ExampleEncoder enc, Kernels kernels) throws IOException {
        DecoderModel policy = ModelDirectory.load(dir, kernels, DataType.FLOAT);
        policy.limitVocabulary(enc.tokenizer());
        return policy;
    }

    @Override
    public List<Drawn> run(List<Batch> slice, Cluster.Shipped files) throws IOException {
        // a task's own models: they keep per-forward buffers, so concurrent tasks must not share them
        Kernels kernels = Backend.get().kernels();
        Models ref = loadReference(files.path(REFERENCE), kernels);
        Path rm = files.path(REWARD_MODEL);
        Path policy = files.path(POLICY);
        Models m = new Models(policy == null ? ref.reference() : loadPolicy(policy, ref.enc(), kernels),
                ref.reference(), ref.enc(), rm == null ? null : RewardScorer.load(rm, kernels));
        List<Drawn> out = new ArrayList<>();
        for (Batch b : slice) {
            out.add(draw(m, b));
        }
        return out;
    }

    /** One batch's samples, log-ratios and rewards. */
    Drawn draw(Models m, Batch batch) {
        ExampleEncoder enc = m.enc();
        Set<Integer> stops = cfg.stopTokenIds();
        List<Generation> g = new Generator(m.policy()).generate(batch.ids(), cfg, enc.tokenizer()::decode,
                batch.first());
        double[] ref = SequenceLogProbs.ofCompletions(m.reference(), g.stream().map(Generation::promptIds).toList(),
                g.stream().map(Generation::tokenIds).toList(), batchSize, enc.eosTokenId());
        ArrayList<String> responses = new ArrayList<>();
        List<int[]> scored = new ArrayList<>();
        int n = g.size();
        int[] responseTokens = new int[n];
        int[] sampledTokens = new int[n];
        double[] logRatios = new double[n];
        for (int i = 0; i < n; i++) {
            Generation x = g.get(i);
            int[] body = x.responseIds(stops);
            responses.add(enc.tokenizer().decode(body));
            responseTokens[i] = body.length;
            sampledTokens[i] = x.tokenIds().length;
            logRatios[i] = x.logprobSum() - ref[i];
            int[] seq = Arrays.copyOf(x.promptIds(), x.promptIds().length + body.length);
            System.arraycopy(body, 0, seq, x.promptIds().length, body.length);
            scored.add(seq);
        }
        double[] rewards = m.scorer() == null ? null : m.scorer().score(scored, batchSize);
        return new Drawn(responses, responseTokens, sampledTokens, logRatios, rewards);
    }
}
