package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.kernels.GenericKernels;
import org.align4j.core.run.RunDirectory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * PPO end to end through the command line with a rule reward (1 when the response contains "red"):
 * a few iterations raise the mean reward clearly above its start with GAE and with GRPO; PPO-ptx's
 * term changes the update; SIGKILL resume repeats the same rollouts and losses; bad settings are
 * refused before any work.
 */
class PpoRunTest {

    @TempDir
    static Path tmp;
    static Path model;
    static Path prompts;
    static Path ptx;

    @BeforeAll
    static void modelAndPrompts() throws Exception {
        SplittableRandom r = new SplittableRandom(6);
        String corpus = TinyModel.corpus(r, 300);
        model = TinyModel.create(tmp, corpus, "ppo-base");
        prompts = tmp.resolve("prompts.jsonl");
        StringBuilder p = new StringBuilder();
        for (String w : List.of("the cat", "the dog", "a mat", "the log", "a big", "small blue", "then a", "the")) {
            p.append("{\"prompt\": \"").append(w).append("\"}\n");
        }
        Files.writeString(prompts, p);
        ptx = tmp.resolve("ptx.jsonl");
        StringBuilder t = new StringBuilder();
        corpus.lines().limit(40).forEach(l -> t.append("{\"text\": \"").append(l).append("\"}\n"));
        Files.writeString(ptx, t);
    }

    static String[] ppoArgs(Path out, int steps, String... extra) {
        List<String> a = new ArrayList<>(List.of("ppo", "--model", model.toString(), "--reward-fn", "regex:red",
                "--prompts", prompts.toString(), "--out", out.toString(), "--max-steps", Integer.toString(steps),
                "--batch-size", "8", "--samples-per-prompt", "4", "--lr", "3e-3", "--max-new-tokens", "12",
                "--kl-coef", "0.01", "--seed", "3", "--save-every", "5", "--keep-last", "2"));
        a.addAll(List.of(extra));
        return a.toArray(new String[0]);
    }

    static List<Double> column(Path run, String name) throws Exception {
        List<Double> out = new ArrayList<>();
        for (JsonNode m : new RunDirectory(run).metrics()) {
            out.add(m.get(name).asDouble());
        }
        return out;
    }

    static double mean(List<Double> xs) {
        return xs.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
    }

    @Test
    void aRuleRewardRisesClearlyWithGaeAndGrpo() throws Exception {
        for (String est : List.of("gae", "grpo")) {
            Path out = tmp.resolve("learn-" + est);
            assertEquals(0, Align4j.run(ppoArgs(out, 15, "--estimator", est)));
            List<Double> s = column(out, "objective/scores");
            double start = mean(s.subList(0, 3));
            double end = mean(s.subList(12, 15));
            assertTrue(end > start + 0.25, est + ": mean reward " + start + " -> " + end + ": " + s);
            JsonNode last = new RunDirectory(out).metrics().get(14);
            for (String k : List.of("objective/kl", "objective/entropy", "objective/non_score_reward",
                    "objective/rlhf_reward", "policy/approxkl_avg", "policy/clipfrac_avg", "loss/policy_avg",
                    "val/ratio", "kl_coef", "lr", "episode", "time/rollout", "time/scoring", "time/update",
                    "rollout_tokens_per_s")) {
                assertTrue(last.has(k), est + ": metric " + k + " in " + last);
            }
            assertEquals(est.equals("gae"), last.has("loss/value_avg") && last.has("val/clipfrac_avg"));
            assertEquals(est.equals("gae"), Files.isDirectory(out.resolve("final").resolve("value")));
            assertTrue(Files.isRegularFile(out.resolve("samples").resolve("step-15.jsonl")));
        }
    }

    @Test
    void thePtxTermChangesTheUpdate() throws Exception {
        Path none = tmp.resolve("ptx-none");
        Path zero = tmp.resolve("ptx-zero");
        Path one = tmp.resolve("ptx-one");
        assertEquals(0, Align4j.run(ppoArgs(none, 1)));
        assertEquals(0, Align4j.run(ppoArgs(zero, 1, "--ptx-data", ptx.toString(), "--ptx-coef", "0")));
        assertEquals(0, Align4j.run(ppoArgs(one, 1, "--ptx-data", ptx.toString(), "--ptx-coef", "1")));
        float[] a = weights(none);
        assertArrayEquals(a, weights(zero), "coefficient 0 is no PPO-ptx at all");
        assertFalse(java.util.Arrays.equals(a, weights(one)), "coefficient 1 changes the update");
        assertTrue(new RunDirectory(one).metrics().get(0).has("loss/ptx_avg"));
    }

    static float[] weights(Path run) throws Exception {
        return ModelDirectory.load(run.resolve("final"), new GenericKernels(), DataType.FLOAT).parameters().flat()
                .toFloatVector();
    }

    @Test
    void resumeAfterSigkillRepeatsTheSameRolloutsAndLosses() throws Exception {
        Path reference = tmp.resolve("reference");
        assertEquals(0, Align4j.run(ppoArgs(reference, 24)));
        Path killed = tmp.resolve("killed");
        TinyModel.killAfterCheckpoint(killed, 10, tmp.resolve("killed.log"), ppoArgs(killed, 24));
        assertEquals(RunDirectory.Status.RUNNING, new RunDirectory(killed).status());
        assertEquals(0, Align4j.run(ppoArgs(killed, 24, "--resume")));
        assertEquals(TinyModel.losses(reference), TinyModel.losses(killed), "the same losses");
        assertEquals(column(reference, "objective/scores"), column(killed, "objective/scores"), "the same rollouts");
        assertEquals(column(reference, "kl_coef"), column(killed, "kl_coef"));
    }

    @Test
    void badSettingsAreRefusedBeforeAnyWork() throws Exception {
        String m = model.toString();
        assertEquals(1, Align4j.run("ppo", "--model", m, "--reward-fn", "regex:red", "--out",
                tmp.resolve("no-prompts").toString()));
        assertEquals(1, Align4j.run("ppo", "--model", m, "--prompts", prompts.toString(), "--out",
                tmp.resolve("no-reward").toString()));
        assertEquals(1, Align4j.run(ppoArgs(tmp.resolve("rloo-k1"), 1, "--estimator", "rloo", "--samples-per-prompt",
                "1")));
        assertEquals(1, Align4j.run(ppoArgs(tmp.resolve("bad-regex"), 1, "--reward-fn", "regex:(")));
        assertEquals(1, Align4j.run(ppoArgs(tmp.resolve("bad-fn"), 1, "--reward-fn", "happiness")));
        assertFalse(Files.exists(tmp.resolve("bad-regex").resolve("checkpoints")));
    }
}
