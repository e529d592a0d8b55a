package org.align4j.pipeline;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.generate.SamplingConfig;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.tokenizer.SpecialTokens;
import org.align4j.core.util.Json;
import org.align4j.data.batch.ExampleEncoder;
import org.align4j.data.format.Content;
import org.align4j.data.format.PromptSource;
import org.align4j.data.jsonl.JsonlWriter;
import org.align4j.reward.RewardScorer;
import org.align4j.reward.fn.RewardFunction;
import org.align4j.train.scale.ScaleOut;

/**
 * Policies compared on the same held-out prompts with the same sampling (temperature 1, one
 * seed): the gold judge's mean score with a 95% interval, the win rate against the reference's
 * own samples under the judge (ties count half), the reward model's score when one is given, the
 * KL to the reference estimated from each sample's log-ratio (the policy's sampled log-probabilities
 * minus the reference's, summed over the response), distinct-2 and a repetition rate. The samples
 * are kept, one JSONL file per policy. Sample j of prompt i draws from its own generator, seeded by
 * its record's index i * n + j (n samples per prompt): not by its place in a batch, so the samples
 * are the same whatever the batches run on (one process, or Spark executors), and two batches do
 * not draw the same random numbers.
 *
 * <p>With several samples per prompt and a pass@k, each prompt is sampled n times, a sample passes when its judge score is at least 1 (a
 * verifiable grader's "correct"), and pass@1 and pass@k are the unbiased estimators of Chen et al.
 * (2021) averaged over prompts; pass@1's 95% interval is a percentile bootstrap over prompts (the
 * prompts are the independent units, not the samples).
 */
public final class PolicyComparison {

    /** One policy's figures. */
    public record Result(String name, int n, double goldScore, double goldCi95, double winRate, Double rmScore,
                         double kl, double klCi95, double distinct2, double repetitionRate, double meanTokens,
                         Path samples, Pass pass) {
        public Result(String name, int n, double goldScore, double goldCi95, double winRate, Double rmScore,
                      double kl, double klCi95, double distinct2, double repetitionRate, double meanTokens,
                      Path samples) {
            this(name, n, goldScore, goldCi95, winRate, rmScore, kl, klCi95, distinct2, repetitionRate, meanTokens,
                    samples, null);
        }
    }

    /**
     * Pass rates over {@code prompts} prompts of {@code samplesPerPrompt} samples each: pass@1 with its
     * 95% percentile-bootstrap interval [{@code at1Low}, {@code at1High}], and pass@{@code k}; and
     * pass@1 minus the reference's on the same prompts, {@code vsReference}, with the interval of a
     * paired bootstrap over prompts (each resample takes both policies' rates of the same prompts, so
     * the prompts' difficulty, shared by both, drops out: a difference can be clear while the two
     * separate intervals overlap).
     */
    public record Pass(int prompts, int samplesPerPrompt, double at1, double at1Low, double at1High, int k,
                       double atK, double vsReference, double vsReferenceLow, double vsReferenceHigh) {
    }

    /** The gold judge: the score of {@code response} to prompt number {@code prompt} (text {@code promptText}). */
    @FunctionalInterface
    public interface Judge {
        double score(int prompt, String promptText, String response, int tokens);
    }

    private record Sample(int promptIndex, String prompt, String response, double gold, Double rm, double kl,
                          int tokens) {
    }

    /** Resamples of the bootstrap interval of pass@1, and its seed (fixed: the same samples give the same interval). */
    static final int BOOTSTRAP_RESAMPLES = 2000;
    private static final long BOOTSTRAP_SEED = 2021;

    private final Kernels kernels;
    private final Path referenceDir;
    private final DecoderModel reference;
    private final ExampleEncoder enc;
    private final Judge judge;
    private final Path rewardModel;
    private final RewardScorer scorer;
    private final int maxNewTokens;
    private final long seed;
    private final int samplesPerPrompt;
    private final int passK;
    private ScaleOut scaleOut;

    public PolicyComparison(Path referenceDir, RewardFunction judge, Path rewardModel, int maxNewTokens, long seed,
                            Kernels kernels) throws IOException {
        this(referenceDir, (i, prompt, response, tokens) -> judge.score(prompt, response, 0), rewardModel,
                maxNewTokens, seed, 1, 0, kernels);
    }

    /**
     * A comparison drawing {@code samplesPerPrompt} samples per prompt; {@code passK} above 0 (at
     * most {@code samplesPerPrompt}) also reports pass@1 and pass@{@code passK}.
     */
    public PolicyComparison(Path referenceDir, Judge judge, Path rewardModel, int maxNewTokens, long seed,
                            int samplesPerPrompt, int passK, Kernels kernels) throws IOException {
        if (samplesPerPrompt < 1 || passK < 0 || passK > samplesPerPrompt) {
            throw new IllegalArgumentException("need 1 <= samples per prompt and 0 <= k <= samples, got "
                    + samplesPerPrompt + " and " + passK);
        }
        this.samplesPerPrompt = samplesPerPrompt;
        this.passK = passK;
        this.kernels = kernels;
        this.referenceDir = referenceDir;
        ComparisonBatches.Models ref = ComparisonBatches.loadReference(referenceDir, kernels);
        this.reference = ref.reference();
        this.enc = ref.enc();
        this.judge = judge;
        this.rewardModel = rewardModel;
        this.scorer = rewardModel == null ? null : RewardScorer.load(rewardModel, kernels);
        this.maxNewTokens = maxNewTokens;
        this.seed = seed;
    }

    /**
     * Runs the model work (each policy's sampling, the reference's log-probabilities, the reward
     * model's scores) as jobs on {@code scaleOut}'s cluster, the sample batches cut into its slices,
     * every model shipped once per job; null: in this process. The samples and figures are the same
     * bytes either way: a row's draws depend on its record's index only.
     */
    public PolicyComparison scaleOut(ScaleOut scaleOut) {
        this.scaleOut = scaleOut;
        return this;
    }

    /** Refuses, before any sampling, a prompt of {@code file} that leaves the reference no room for a response. */
    public void requireFit(Path file, List<PromptSource.Prompt> prompts, Path referenceDir) {
        for (PromptSource.Prompt p : prompts) {
            Candidates.requireFits(file + ":" + p.line(), enc.promptIds(p.content()).length,
                    reference.config().contextLength(), referenceDir);
        }
    }

    /** Compares {@code policies} (name to model directory; the reference may be among them) on {@code prompts}. */
    public List<Result> compare(List<Content> prompts, Map<String, Path> policies, Path outDir, int batchSize,
                                PrintStream log) throws IOException {
        Files.createDirectories(outDir);
        List<int[]> ids = new ArrayList<>();
        List<String> texts = new ArrayList<>();
        List<Integer> index = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            Content c = prompts.get(i);
            int[] promptIds = enc.promptIds(c);
            String text = c instanceof Content.Text t ? t.text() : enc.tokenizer().decode(promptIds);
            for (int r = 0; r < samplesPerPrompt; r++) {
                ids.add(promptIds);
                texts.add(text);
                index.add(i);
            }
        }
        log.printf("  reference: %d prompts%s%n", prompts.size(), samplesPerPrompt == 1 ? ""
                : " x " + samplesPerPrompt + " samples");
        if (scaleOut != null) {
            log.printf("  sampling and scoring on %s in %d partition(s) of %d batch(es)%n", scaleOut.cluster().master(),
                    scaleOut.slices(), (ids.size() + batchSize - 1) / batchSize);
        }
        List<Sample> refSamples = sample(null, reference, ids, texts, index, batchSize);
        List<Result> out = new ArrayList<>();
        for (Map.Entry<String, Path> p : policies.entrySet()) {
            log.printf("  %s: %s%n", p.getKey(), p.getValue());
            List<Sample> s;
            if (Files.isSameFile(p.getValue(), referenceDir)) {
                s = refSamples; // the same model, seed and batches draw the same samples: drawn once
            } else {
                // on a cluster the executors load the policy; here it is loaded only to sample in this process
                DecoderModel policy = scaleOut != null ? null
                        : ComparisonBatches.loadPolicy(p.getValue(), enc, kernels);
                s = sample(p.getValue(), policy, ids, texts, index, batchSize);
            }
            Path file = outDir.resolve(p.getKey() + ".jsonl");
            List<ObjectNode> rows = new ArrayList<>();
            double wins = 0;
            for (int i = 0; i < s.size(); i++) {
                Sample x = s.get(i);
                double other = refSamples.get(i).gold();
                wins += x.gold() > other ? 1 : x.gold() == other ? 0.5 : 0;
                ObjectNode o = Json.MAPPER.createObjectNode().put("prompt", x.prompt()).put("response", x.response())
                        .put("gold_score", x.gold()).put("kl", x.kl());
                if (samplesPerPrompt > 1) {
                    o.put("prompt_index", x.promptIndex());
                }
                if (x.rm() != null) {
                    o.put("rm_score", x.rm());
                }
                rows.add(o);
            }
            JsonlWriter.write(file, rows);
            double[] gold = s.stream().mapToDouble(Sample::gold).toArray();
            double[] kl = s.stream().mapToDouble(Sample::kl).toArray();
            List<String> responses = s.stream().map(Sample::response).toList();
            out.add(new Result(p.getKey(), s.size(), mean(gold), ci95(gold), wins / s.size(),
                    scorer == null ? null : s.stream().mapToDouble(Sample::rm).average().orElse(Double.NaN), mean(kl),
                    ci95(kl), distinct2(responses), repetitionRate(responses),
                    s.stream().mapToInt(Sample::tokens).average().orElse(0), file,
                    passK == 0 ? null : pass(s, refSamples, prompts.size())));
        }
        return out;
    }

    /** Pass rates of samples in prompt order, {@link #samplesPerPrompt} per prompt, against the reference's. */
    private Pass pass(List<Sample> s, List<Sample> ref, int prompts) {
        int[] correct = correctPerPrompt(s, prompts);
        int[] refCorrect = correctPerPrompt(ref, prompts);
        double[] at1 = new double[prompts];
        double[] diff = new double[prompts];
        double sumK = 0;
        for (int i = 0; i < prompts; i++) {
            at1[i] = passAtK(samplesPerPrompt, correct[i], 1);
            diff[i] = at1[i] - passAtK(samplesPerPrompt, refCorrect[i], 1);
            sumK += passAtK(samplesPerPrompt, correct[i], passK);
        }
        double[] ci = bootstrapMeanInterval(at1, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED);
        double[] dci = bootstrapMeanInterval(diff, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED);
        return new Pass(prompts, samplesPerPrompt, mean(at1), ci[0], ci[1], passK, sumK / prompts, mean(diff),
                dci[0], dci[1]);
    }

    private static int[] correctPerPrompt(List<Sample> s, int prompts) {
        int[] correct = new int[prompts];
        for (Sample x : s) {
            correct[x.promptIndex()] += x.gold() >= 1 ? 1 : 0;
        }
        return correct;
    }

    /**
     * The unbiased estimator of pass@k from n samples of which c are correct (Chen et al. 2021):
     * 1 - C(n-c, k) / C(n, k), computed as their product 1 - prod_{i=n-c+1}^{n} (1 - k/i).
     */
    static double passAtK(int n, int c, int k) {
        if (k < 1 || k > n || c < 0 || c > n) {
            throw new IllegalArgumentException("pass@k needs 1 <= k <= n and 0 <= c <= n, got n=" + n + " c=" + c
                    + " k=" + k);
        }
        if (n - c < k) {
            return 1;
        }
        double fail = 1;
        for (int i = n - c + 1; i <= n; i++) {
            fail *= 1 - (double) k / i;
        }
        return 1 - fail;
    }

    /** The 2.5th and 97.5th percentiles of the means of {@code resamples} bootstrap resamples of {@code a}. */
    static double[] bootstrapMeanInterval(double[] a, int resamples, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        double[] means = new double[resamples];
        for (int b = 0; b < resamples; b++) {
            double sum = 0;
            for (int i = 0; i < a.length; i++) {
                sum += a[rnd.nextInt(a.length)];
            }
            means[b] = sum / a.length;
        }
        Arrays.sort(means);
        return new double[] {means[(int) Math.floor(0.025 * (resamples - 1))],
                means[(int) Math.ceil(0.975 * (resamples - 1))]};
    }

    /**
     * The samples of the policy in {@code policyDir} (null: the reference; {@code policy} is the model,
     * loaded when it samples in this process), one per entry of {@code ids}, judged here in order.
     */
    private List<Sample> sample(Path policyDir, DecoderModel policy, List<int[]> ids, List<String> texts,
                                List<Integer> index, int batchSize) {
        Set<Integer> stops = SpecialTokens.stops(enc.tokenizer(), enc.eosTokenId());
        SamplingConfig cfg = new SamplingConfig(maxNewTokens, 1.0, 0, 1.0, seed, 0, stops, List.of());
        ComparisonBatches work = new ComparisonBatches(cfg, batchSize);
        List<ComparisonBatches.Batch> batches = ComparisonBatches.batches(ids, batchSize);
        List<ComparisonBatches.Drawn> drawn;
        if (scaleOut != null) {
            drawn = scaleOut.cluster().mapInOrder(batches, scaleOut.slices(),
                    ComparisonBatches.shipped(policyDir, referenceDir, rewardModel), work);
        } else {
            ComparisonBatches.Models models = new ComparisonBatches.Models(policy, reference, enc, scorer);
            drawn = new ArrayList<>();
            for (ComparisonBatches.Batch b : batches) {
                drawn.add(work.draw(models, b));
            }
        }
        List<Sample> out = new ArrayList<>();
        for (int b = 0; b < batches.size(); b++) {
            ComparisonBatches.Drawn d = drawn.get(b);
            int start = (int) batches.get(b).first();
            for (int i = 0; i < d.responses().size(); i++) {
                String prompt = texts.get(start + i);
                int promptIndex = index.get(start + i);
                String response = d.responses().get(i);
                out.add(new Sample(promptIndex, prompt, response,
                        judge.score(promptIndex, prompt, response, d.responseTokens()[i]),
                        d.rewards() == null ? null : d.rewards()[i], d.logRatios()[i], d.sampledTokens()[i]));
            }
        }
        return out;
    }

    static double mean(double[] a) {
        return Arrays.stream(a).average().orElse(Double.NaN);
    }

    /** Half-width of the normal 95% interval of the mean: 1.96 s / sqrt(n), s the sample standard deviation. */
    static double ci95(double[] a) {
        if (a.length < 2) {
            return Double.NaN;
        }
        double m = mean(a);
        double ss = 0;
        for (double v : a) {
            ss += (v - m) * (v - m);
        }
        return 1.96 * Math.sqrt(ss / (a.length - 1)) / Math.sqrt(a.length);
    }

    static List<String> words(String s) {
        return Arrays.stream(s.toLowerCase(java.util.Locale.ROOT).split("[^\\p{L}\\p{N}']+"))
                .filter(w -> !w.isEmpty()).toList();
    }

    /** Distinct word bigrams over all bigrams of all responses. */
    static double distinct2(List<String> responses) {
        Set<String> seen = new HashSet<>();
        long total = 0;
        for (String r : responses) {
            List<String> w = words(r);
            for (int i = 0; i + 1 < w.size(); i++) {
                seen.add(w.get(i) + " " + w.get(i + 1));
                total++;
            }
        }
        return total == 0 ? 0 : (double) seen.size() / total;
    }

    /** The share of responses in which some word trigram occurs more than once. */
    static double repetitionRate(List<String> responses) {
        int repeated = 0;
        for (String r : responses) {
            List<String> w = words(r);
            Set<String> seen = new HashSet<>();
            for (int i = 0; i + 2 < w.size(); i++) {
                if (!seen.add(w.get(i) + " " + w.get(i + 1) + " " + w.get(i + 2))) {
                    repeated++;
                    break;
                }
            }
        }
        return responses.isEmpty() ? 0 : (double) repeated / responses.size();
    }

    /** Reads back what {@link #toJson} wrote. */
    public static List<Result> fromJson(JsonNode root) {
        List<Result> out = new ArrayList<>();
        root.fields().forEachRemaining(e -> {
            JsonNode o = e.getValue();
            out.add(new Result(e.getKey(), o.get("n").asInt(), o.get("gold_score").asDouble(),
                    o.get("gold_score_ci95").asDouble(), o.get("win_rate_vs_reference").asDouble(),
                    o.hasNonNull("rm_score") ? o.get("rm_score").asDouble() : null, o.get("kl").asDouble(),
                    o.get("kl_ci95").asDouble(), o.get("distinct_2").asDouble(), o.get("repetition_rate").asDouble(),
                    o.get("mean_tokens").asDouble(), Path.of(o.get("samples").asText()),
                    o.has("pass_at_1") ? new Pass(o.get("prompts").asInt(), o.get("samples_per_prompt").asInt(),
                            o.get("pass_at_1").asDouble(), o.get("pass_at_1_ci95_low").asDouble(),
                            o.get("pass_at_1_ci95_high").asDouble(), o.get("pass_k").asInt(),
                            o.get("pass_at_k").asDouble(), o.path("pass_at_1_vs_reference").asDouble(Double.NaN),
                            o.path("pass_at_1_vs_reference_ci95_low").asDouble(Double.NaN),
                            o.path("pass_at_1_vs_reference_ci95_high").asDouble(Double.NaN)) : null));
        });
        return out;
    }

    /** The table {@code compare} and {@code pipeline} print. */
    public static void printTable(PrintStream o, List<Result> results) {
        if (results.stream().anyMatch(r -> r.pass() != null)) {
            printPassTable(o, results);
            return;
        }
        o.printf("%-16s %5s %17s %8s %7s %13s %9s %7s %6s%n", "POLICY", "N", "GOLD (95% CI)", "WIN_RATE", "RM",
                "KL (95% CI)", "DISTINCT2", "REPEATS", "TOKENS");
        for (Result r : results) {
            o.printf("%-16s %5d %8.3f ± %6.3f %8.3f %7s %6.2f ± %4.2f %9.3f %7.3f %6.1f%n", r.name(), r.n(),
                    r.goldScore(), r.goldCi95(), r.winRate(), r.rmScore() == null ? "-" : String.format("%.3f",
                            r.rmScore()), r.kl(), r.klCi95(), r.distinct2(), r.repetitionRate(), r.meanTokens());
        }
    }

    /** The table of a comparison with pass rates: pass@1 (bootstrap 95% interval), pass@k, KL, response tokens. */
    private static void printPassTable(PrintStream o, List<Result> results) {
        int k = results.stream().filter(r -> r.pass() != null).findFirst().orElseThrow().pass().k();
        o.printf("%-16s %7s %22s %26s %7s %8s %13s %7s %6s%n", "POLICY", "PROMPTS", "PASS@1 (95% CI)",
                "VS REFERENCE (PAIRED CI)", "PASS@" + k, "SCORE", "KL (95% CI)", "REPEATS", "TOKENS");
        for (Result r : results) {
            Pass p = r.pass();
            o.printf("%-16s %7d %6.3f [%6.3f, %6.3f] %+7.3f [%+7.3f, %+7.3f] %7.3f %8.3f %6.2f ± %4.2f %7.3f %6.1f%n",
                    r.name(), p.prompts(), p.at1(), p.at1Low(), p.at1High(), p.vsReference(), p.vsReferenceLow(),
                    p.vsReferenceHigh(), p.atK(), r.goldScore(), r.kl(), r.klCi95(), r.repetitionRate(),
                    r.meanTokens());
        }
    }

    /** The results as one JSON object per policy, keyed by name. */
    public static ObjectNode toJson(List<Result> results) {
        ObjectNode root = Json.MAPPER.createObjectNode();
        Map<String, Result> byName = new LinkedHashMap<>();
        results.forEach(r -> byName.put(r.name(), r));
        byName.forEach((k, r) -> {
            ObjectNode o = root.putObject(k);
            o.put("n", r.n()).put("gold_score", r.goldScore()).put("gold_score_ci95", r.goldCi95())
                    .put("win_rate_vs_reference", r.winRate()).put("kl", r.kl()).put("kl_ci95", r.klCi95())
                    .put("distinct_2", r.distinct2()).put("repetition_rate", r.repetitionRate())
                    .put("mean_tokens", r.meanTokens()).put("samples", r.samples().toString());
            if (r.rmScore() != null) {
                o.put("rm_score", r.rmScore());
            }
            if (r.pass() != null) {
                Pass p = r.pass();
                o.put("prompts", p.prompts()).put("samples_per_prompt", p.samplesPerPrompt())
                        .put("pass_at_1", p.at1()).put("pass_at_1_ci95_low", p.at1Low())
                        .put("pass_at_1_ci95_high", p.at1High()).put("pass_k", p.k()).put("pass_at_k", p.atK())
                        .put("pass_at_1_vs_reference", p.vsReference())
                        .put("pass_at_1_vs_reference_ci95_low", p.vsReferenceLow())
                        .put("pass_at_1_vs_reference_ci95_high", p.vsReferenceHigh());
            }
        });
        return root;
    }
}
