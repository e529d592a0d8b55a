package org.align4j.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.align4j.core.backend.Backend;
import org.align4j.core.checkpoint.ModelKind;
import org.align4j.core.output.OutputCheck;
import org.align4j.core.output.PathKind;
import org.align4j.core.tokenizer.TokenizerFiles;
import org.align4j.core.util.AtomicFiles;
import org.align4j.core.util.Json;
import org.align4j.data.format.PromptSource;
import org.align4j.pipeline.PolicyComparison;
import org.align4j.reward.RewardScorer;
import org.align4j.reward.fn.RewardFunction;
import org.align4j.reward.grader.Grader;
import org.align4j.reward.grader.GraderInput;
import org.align4j.reward.grader.GraderParser;
import org.align4j.reward.grader.GraderRunner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "compare", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Compare policies on the same held-out prompts with the same sampling (temperature 1, one seed):"
                + " the gold judge's mean score with a 95%% interval, the win rate against the reference's own"
                + " samples, the reward model's score (with --reward-model), the KL to the reference from the"
                + " samples' log-ratios, distinct-2 and a repetition rate. Writes OUT/<policy>.jsonl (prompt,"
                + " response, gold_score, rm_score, kl) and OUT/comparison.json, and prints a table. With --grader"
                + " (a verifiable reward such as math_answer) and --samples N, each prompt is sampled N times and"
                + " pass@1 (95%% percentile-bootstrap interval over prompts) and pass@k (the unbiased estimator of"
                + " Chen et al. 2021) are reported; a sample passes when its grader score is at least 1."
                + " With --spark-master the sampling, the reference's log-probabilities and the reward model's scores"
                + " run as Spark jobs (the gold judge on the driver), writing the same bytes as one process.",
        footer = {"", "Example:",
                "  align4j compare --reference runs/sft/final --policy sft=runs/sft/final --policy ppo=runs/ppo/final \\",
                "      --policy dpo=runs/dpo/final --prompts prompts.heldout.jsonl --judge sentiment --out runs/compare",
                "  align4j compare --reference runs/arith-sft/final --policy sft=runs/arith-sft/final \\",
                "      --policy grpo=runs/arith-grpo/final --prompts examples/arithmetic/heldout.jsonl \\",
                "      --grader examples/arithmetic/grader.json --samples 8 --max-new-tokens 40 --out runs/arith-eval",
                "  align4j compare --reference runs/sft/final --policy dpo=runs/dpo/final --prompts prompts.heldout.jsonl \\",
                "      --reward-model runs/rm/final --out runs/compare --spark-master spark://head:7077 --spark-partitions 8"})
final class CompareCommand implements Callable<Integer> {

    @Option(names = "--reference", required = true, paramLabel = "DIR", description = "the reference policy (the SFT model): KL and win rate are measured against it")
    Path reference;
    // a list, not a Map option: a map would keep only the last of two policies given one name
    @Option(names = "--policy", required = true, paramLabel = "NAME=DIR", description = "a policy to compare (repeatable)")
    List<String> policyArgs = new ArrayList<>();
    Map<String, Path> policies = new LinkedHashMap<>();
    @Option(names = "--prompts", required = true, paramLabel = "FILE", description = "held-out prompts: JSONL of prompts, or any SFT or preference file")
    Path prompts;
    @Option(names = "--judge", description = "the gold judge: sentiment, regex:PATTERN or length:N (default: sentiment)")
    String judge;
    @Option(names = "--grader", paramLabel = "FILE", description = "the gold judge as a grader JSON (as ppo --grader; {{item.FIELD}} reads the prompt's record): reports pass@1 and pass@k")
    Path grader;
    @Range(min = 1, max = 1024)
    @Option(names = "--samples", defaultValue = "1", paramLabel = "N", description = "samples per prompt (default: ${DEFAULT-VALUE})")
    int samples;
    @Range(min = 1, max = 1024)
    @Option(names = "--pass-k", paramLabel = "K", description = "the k of pass@k with --grader, at most --samples (default: the smaller of 8 and --samples)")
    Integer passK;
    @Option(names = "--reward-model", paramLabel = "DIR", description = "also report this reward model's mean score")
    Path rewardModel;
    @Range(min = 1)
    @Option(names = "--max-new-tokens", defaultValue = "48", paramLabel = "N", description = "response length limit (default: ${DEFAULT-VALUE})")
    int maxNewTokens;
    @Range()
    @Option(names = "--seed", defaultValue = "7", description = "sampling seed, the same for every policy (default: ${DEFAULT-VALUE})")
    long seed;
    @Range(min = 1, max = 65536)
    @Option(names = "--batch-size", defaultValue = "8", paramLabel = "N", description = "prompts sampled together (default: ${DEFAULT-VALUE})")
    int batchSize;
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "directory for the samples and comparison.json")
    Path out;
    @Mixin
    ForceOption force;
    @Mixin
    SparkOption spark;

    @Override
    public Integer call() throws Exception {
        for (String arg : policyArgs) {
            int eq = arg.indexOf('=');
            if (eq < 0) {
                throw new UserError("--policy " + arg + ": expected NAME=DIR");
            }
            String name = arg.substring(0, eq);
            Path previous = policies.putIfAbsent(name, Path.of(arg.substring(eq + 1)));
            if (previous != null) {
                throw new UserError("--policy " + name + " is given twice (" + name + "=" + previous + " and " + arg
                        + "): give each policy its own name");
            }
        }
        for (String name : policies.keySet()) {
            if (!name.matches("[A-Za-z0-9._-]+")) {
                throw new UserError("--policy " + name + ": a name of letters, digits, '.', '_' and '-' (it names a file)");
            }
        }
        // every model is checked before any sampling: policies are causal LMs reading the reference's token ids
        ModelKind.requireCausalLm(reference);
        for (Map.Entry<String, Path> p : policies.entrySet()) {
            ModelKind.requireCausalLm(p.getValue());
            TokenizerFiles.requireSameTokenizer("--reference", reference, "--policy " + p.getKey(), p.getValue());
        }
        if (rewardModel != null) {
            TokenizerFiles.requireSameTokenizer("--reference", reference, "--reward-model", rewardModel);
        }
        OutputCheck.of("--out", out).replaces(PathKind.COMPARISON).input("--reference", reference)
                .inputs("--policy", policies.values()).input("--prompts", prompts).input("--reward-model", rewardModel)
                .input("--grader", grader)
                .check(force.force);
        // a policy's samples never land on another artifact, not even with --force (a policy named "metrics")
        for (String name : policies.keySet()) {
            OutputCheck.of("--policy name", out.resolve(name + ".jsonl")).replaces(PathKind.SAMPLES)
                    .checkStrict();
        }
        if (grader != null && judge != null) {
            throw new UserError("give --judge or --grader, not both");
        }
        if (grader == null && passK != null) {
            throw new UserError("--pass-k needs --grader (a verifiable judge whose score 1 is a pass)");
        }
        int k = passK != null ? passK : Math.min(8, samples);
        if (k > samples) {
            throw new UserError("--pass-k " + k + " needs at least as many --samples (got " + samples + ")");
        }
        var sourced = PromptSource.readItems(this.prompts);
        AtomicInteger errors = new AtomicInteger();
        AtomicReference<String> firstError = new AtomicReference<>();
        PolicyComparison.Judge gold;
        if (grader != null) {
            Grader g = GraderParser.read(grader, dir -> RewardScorer.load(dir, Backend.get().kernels()));
            for (PromptSource.Prompt p : sourced) {
                String missing = g.checkItem(p.item());
                if (missing != null) {
                    throw new UserError(this.prompts + ":" + p.line() + ": lacks " + missing + ", which the grader "
                            + grader + " reads");
                }
            }
            GraderRunner runner = new GraderRunner(g, 1);
            gold = (i, prompt, response, tokens) -> {
                GraderRunner.Grade grade = runner.grade(new GraderInput(sourced.get(i).item(), response, tokens));
                if (grade.failed()) {
                    errors.incrementAndGet();
                    firstError.compareAndSet(null, grade.error());
                }
                return grade.score();
            };
        } else {
            RewardFunction fn = RewardFunction.parse(judge == null ? "sentiment" : judge, "--judge");
            gold = (i, prompt, response, tokens) -> fn.score(prompt, response, 0);
        }
        PolicyComparison c = new PolicyComparison(reference, gold, rewardModel, maxNewTokens, seed, samples,
                grader == null ? 0 : k, Backend.get().kernels());
        c.requireFit(this.prompts, sourced, reference);
        // every input is checked above; the cluster is reached before any sampling
        c.scaleOut(spark.scaleOut());
        var prompts = sourced.stream().map(PromptSource.Prompt::content).toList();
        List<PolicyComparison.Result> results = c.compare(prompts, policies, out, batchSize, System.err);
        AtomicFiles.writeString(out.resolve("comparison.json"), Json.MAPPER.writerWithDefaultPrettyPrinter()
                .writeValueAsString(PolicyComparison.toJson(results)) + "\n");
        PrintStream o = Console.stdout();
        if (errors.get() > 0) {
            System.err.printf("align4j: the grader failed on %d sample(s) (scored 0), first: %s%n", errors.get(),
                    firstError.get());
        }
        PolicyComparison.printTable(o, results);
        o.println("samples and comparison.json in " + out);
        o.flush();
        return 0;
    }
}
