package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.run.RunDirectory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The loss matrix of issue 22 end to end through the command line: every --loss-type, each new
 * estimator, and the components on PPO with a critic run an iteration and log their metrics;
 * dynamic sampling keeps only groups whose scores differ; ppo --help names each variant and its source.
 */
class PpoLossMatrixRunTest {

    @TempDir
    static Path tmp;
    static Path model;
    static Path prompts;

    @BeforeAll
    static void modelAndPrompts() throws Exception {
        SplittableRandom r = new SplittableRandom(6);
        model = TinyModel.create(tmp, TinyModel.corpus(r, 300), "matrix-base");
        prompts = tmp.resolve("prompts.jsonl");
        StringBuilder p = new StringBuilder();
        for (String w : List.of("the cat", "the dog", "a mat", "the log", "a big", "small blue", "then a", "the")) {
            p.append("{\"prompt\": \"").append(w).append("\"}\n");
        }
        Files.writeString(prompts, p);
    }

    static JsonNode runOnce(String name, String... extra) throws Exception {
        Path out = tmp.resolve(name);
        List<String> a = new ArrayList<>(List.of("ppo", "--model", model.toString(), "--reward-fn", "regex:the",
                "--prompts", prompts.toString(), "--out", out.toString(), "--max-steps", "1", "--batch-size", "4",
                "--samples-per-prompt", "4", "--lr", "1e-3", "--max-new-tokens", "10", "--seed", "5",
                "--sample-every", "1"));
        a.addAll(Arrays.asList(extra));
        String[] r = CliTest.run("", a.toArray(new String[0]));
        assertEquals("0", r[0], name + ": " + r[2]);
        List<JsonNode> metrics = new RunDirectory(out).metrics();
        assertEquals(1, metrics.size(), name);
        JsonNode m = metrics.get(0);
        assertTrue(Double.isFinite(m.path("loss/policy_avg").asDouble(Double.NaN)), name + ": " + m);
        return m;
    }

    @Test
    void everyLossTypeRunsAndLogs() throws Exception {
        for (String t : List.of("grpo", "bnpo", "dr_grpo", "cispo", "gspo", "sapo")) {
            JsonNode m = runOnce("type-" + t, "--estimator", "grpo", "--loss-type", t);
            assertTrue(m.has("policy/clipfrac_avg"), t);
        }
        JsonNode dapo = runOnce("type-dapo", "--estimator", "grpo", "--loss-type", "dapo");
        assertTrue(dapo.has("sampling/groups_dropped") && dapo.has("sampling/num_gen_batches"), dapo.toString());
        assertTrue(dapo.has("objective/overlong_penalty"), dapo.toString());
        assertTrue(dapo.get("objective/overlong_penalty").asDouble() <= 0);
    }

    @Test
    void reinforcePlusPlusEstimatorsRun() throws Exception {
        runOnce("rpp", "--estimator", "reinforce++", "--samples-per-prompt", "1", "--gamma", "0.99");
        runOnce("rppb", "--estimator", "reinforce++-baseline");
    }

    @Test
    void componentsApplyToPpoWithACriticToo() throws Exception {
        JsonNode m = runOnce("gae-mix", "--policy-loss", "vanilla", "--cliprange-high", "0.28", "--clip-ratio-c", "3",
                "--loss-agg-mode", "seq-mean-token-sum", "--entropy-coef", "0.01");
        assertTrue(m.has("policy/entropy_avg") && m.get("policy/entropy_avg").asDouble() > 0, m.toString());
        assertTrue(m.has("loss/value_avg"));
    }

    @Test
    void aRunWhoseEveryResponseIsMaskedTrainsNothingAndSaysSo() throws Exception {
        // three tokens never end a response: --mask-truncated leaves nothing to train on
        Path out = tmp.resolve("all-masked");
        String[] r = CliTest.run("", "ppo", "--model", model.toString(), "--reward-fn", "regex:the", "--prompts",
                prompts.toString(), "--out", out.toString(), "--max-steps", "2", "--batch-size", "4",
                "--samples-per-prompt", "2", "--max-new-tokens", "3", "--seed", "5", "--estimator", "grpo",
                "--mask-truncated");
        assertTrue(!r[0].equals("0"), r[2]);
        assertTrue(r[2].contains("every response was cut at --max-new-tokens 3 and --mask-truncated trains none"), r[2]);
        assertTrue(r[2].contains("no iteration had anything to train on"), r[2]);
        for (JsonNode m : new RunDirectory(out).metrics()) {
            assertEquals(1, m.get("sampling/no_update").asInt());
        }
    }

    @Test
    void dynamicSamplingKeepsOnlyGroupsWhoseScoresDiffer() throws Exception {
        Path out = tmp.resolve("dynamic");
        String[] r = CliTest.run("", "ppo", "--model", model.toString(), "--reward-fn", "regex:the", "--prompts",
                prompts.toString(), "--out", out.toString(), "--max-steps", "1", "--batch-size", "4",
                "--samples-per-prompt", "4", "--max-new-tokens", "10", "--seed", "5", "--sample-every", "1",
                "--estimator", "grpo", "--dynamic-sampling", "--max-resample-rounds", "2");
        assertEquals("0", r[0], r[2]);
        JsonNode m = new RunDirectory(out).metrics().get(0);
        int kept = m.get("sampling/groups_kept").asInt();
        assertTrue(kept <= 4 && m.get("sampling/num_gen_batches").asInt() <= 3, m.toString());
        List<JsonNode> samples = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("samples").resolve("step-1.jsonl"))) {
            samples.add(org.align4j.core.util.Json.MAPPER.readTree(line));
        }
        assertEquals(kept * 4, samples.size(), "the batch is the groups kept");
        for (int g = 0; g < samples.size(); g += 4) {
            boolean varied = false;
            for (int i = g + 1; i < g + 4; i++) {
                varied |= samples.get(i).get("score").asDouble() != samples.get(g).get("score").asDouble();
            }
            assertTrue(varied, "group " + g / 4 + " has scores that differ");
        }
    }

    @Test
    void helpNamesEachVariantAndItsSource() {
        String[] r = CliTest.run("", "ppo", "--help");
        assertEquals("0", r[0]);
        for (String s : List.of("--loss-type", "dr_grpo", "Dr. GRPO", "DAPO", "--loss-agg-mode", "token-mean",
                "seq-mean-token-mean", "seq-mean-token-sum-norm", "verl's loss_agg_mode", "--policy-loss", "GSPO",
                "CISPO", "SAPO", "--cliprange-high", "clip-higher", "--clip-ratio-c", "clip_ratio_c",
                "--scale-rewards", "scale_rewards", "reinforce++-baseline", "REINFORCE++", "--dynamic-sampling",
                "--overlong-buffer-len", "mask-truncated", "--entropy-coef", "--max-resample-rounds")) {
            assertTrue(r[1].contains(s), "help mentions " + s);
        }
    }
}
