package org.align4j.reward;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.kernels.Kernels;
import org.align4j.core.tokenizer.TokenizerFiles;
import org.align4j.reward.grader.Grader;
import org.align4j.reward.grader.GraderInput;
import org.align4j.reward.grader.GraderParser;
import org.align4j.reward.grader.GraderRunner;
import org.align4j.train.Judge;

/**
 * The {@link Judge}s this module offers a stage that samples its own pairs: a reward model's raw
 * score of prompt + response (the same token ids the policy sampled, so it must share the
 * policy's tokenizer), or a grader ({@code --grader FILE.json}, {@code --reward-fn SPEC}) run as
 * {@code ppo} runs it (a failure scores 0 and keeps its message).
 */
public final class Judges {

    private Judges() {
    }

    /** A reward model's judge; the directory is checked now, its weights are loaded when the run starts. */
    public static Judge.Loader rewardModel(Path dir, Kernels kernels, int batchSize) throws IOException {
        RewardScorer.requireRewardModel(dir);
        return () -> {
            RewardScorer scorer = RewardScorer.load(dir, kernels);
            return new Judge() {
                public String describe() {
                    return "reward model " + dir + " (raw scores)";
                }

                public List<Judge.Score> score(List<Judge.Response> responses) {
                    List<int[]> seqs = new ArrayList<>();
                    for (Judge.Response r : responses) {
                        int[] seq = Arrays.copyOf(r.promptIds(), r.promptIds().length + r.responseIds().length);
                        System.arraycopy(r.responseIds(), 0, seq, r.promptIds().length, r.responseIds().length);
                        seqs.add(seq);
                    }
                    return Arrays.stream(scorer.score(seqs, Math.max(2, batchSize)))
                            .mapToObj(s -> new Judge.Score(s, null)).toList();
                }
            };
        };
    }

    /**
     * The one judge a sampling stage was given (its options checked that exactly one is set): the
     * reward model in {@code judgeModel}, which must read the policy's token ids, else a grader file,
     * else a reward function.
     */
    public static Judge.Loader of(Path policyModel, String judgeModel, String graderFile, String rewardFn,
                                  int graderConcurrency, int batchSize, Kernels kernels) throws IOException {
        if (judgeModel != null) {
            Path dir = Path.of(judgeModel);
            Judge.Loader l = rewardModel(dir, kernels, batchSize);
            TokenizerFiles.requireSameTokenizer("--model", policyModel, "--judge-model", dir);
            return l;
        }
        return grader(graderFile == null ? null : Path.of(graderFile), rewardFn, graderConcurrency, kernels);
    }

    /** A grader's judge: {@code graderFile} (OpenAI's JSON) when not null, else {@code rewardFn}; parsed now. */
    public static Judge.Loader grader(Path graderFile, String rewardFn, int concurrency, Kernels kernels)
            throws IOException {
        Grader g = graderFile != null ? GraderParser.read(graderFile, dir -> RewardScorer.load(dir, kernels))
                : GraderParser.rewardFn(rewardFn);
        String source = graderFile != null ? graderFile.toString() : rewardFn;
        return () -> {
            GraderRunner runner = new GraderRunner(g, concurrency);
            return new Judge() {
                public String describe() {
                    return (graderFile != null ? source + ": " + g.name() : source) + ": " + g.describe();
                }

                public String lacks(JsonNode item) {
                    return g.checkItem(item);
                }

                public List<Judge.Score> score(List<Judge.Response> responses) {
                    List<GraderInput> in = responses.stream()
                            .map(r -> new GraderInput(r.item(), r.text(), r.responseIds().length)).toList();
                    return runner.gradeAll(in).stream().map(x -> new Judge.Score(x.score(), x.error())).toList();
                }
            };
        };
    }
}
