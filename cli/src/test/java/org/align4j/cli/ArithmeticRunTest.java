package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.run.RunDirectory;
import org.align4j.core.util.Json;
import org.align4j.reward.grader.MathAnswer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The arithmetic example end to end on a tiny model: SFT for a few steps on its worked answers,
 * one GRPO iteration with its grader (each sample's score is the last number of the response
 * checked here against the prompt's answer), then {@code compare --grader --samples 4}, whose
 * pass@1 and pass@4 are recomputed from the samples it keeps.
 */
class ArithmeticRunTest {

    @TempDir
    Path tmp;

    @Test
    void sftThenGrpoWithTheGraderThenPassAtK() throws Exception {
        Path task = tmp.resolve("task");
        Object[] g = BadInputTest.run(null, "examples", "arithmetic", "--out", task.toString(), "--sft-train", "64",
                "--sft-val", "8", "--rl-prompts", "8", "--heldout", "3", "--max-operand", "9", "--seed", "3");
        assertEquals(0, g[0], (String) g[1]);
        StringBuilder corpus = new StringBuilder();
        for (String l : Files.readAllLines(task.resolve("sft.train.jsonl"))) {
            JsonNode r = Json.MAPPER.readTree(l);
            corpus.append(r.get("prompt").asText()).append(r.get("completion").asText()).append('\n');
        }
        // as TinyModel, with room for a whole problem and its answer in the context
        Files.writeString(tmp.resolve("corpus.txt"), corpus);
        Path tok = tmp.resolve("tok");
        assertEquals(0, Align4j.run("tokenizer", "train", "--input", tmp.resolve("corpus.txt").toString(),
                "--vocab-size", "400", "--out", tok.toString()));
        Path model = tmp.resolve("tiny");
        assertEquals(0, Align4j.run("init", "--tokenizer", tok.toString(), "--layers", "2", "--d-model", "64",
                "--heads", "4", "--context", "128", "--seed", "1", "--out", model.toString()));
        Path sft = tmp.resolve("sft");
        Object[] s = BadInputTest.run(null, "sft", "--model", model.toString(), "--train",
                task.resolve("sft.train.jsonl").toString(), "--out", sft.toString(), "--max-steps", "3",
                "--batch-size", "8", "--lr", "3e-3", "--max-length", "96");
        assertEquals(0, s[0], (String) s[1]);
        Path grpo = tmp.resolve("grpo");
        Object[] p = BadInputTest.run(null, "ppo", "--model", sft.resolve("final").toString(), "--grader",
                task.resolve("grader.json").toString(), "--prompts", task.resolve("prompts.train.jsonl").toString(),
                "--out", grpo.toString(), "--estimator", "grpo", "--samples-per-prompt", "4", "--batch-size", "2",
                "--max-steps", "1", "--max-new-tokens", "12", "--sample-every", "1", "--seed", "1");
        assertEquals(0, p[0], (String) p[1]);
        Map<String, String> answers = new HashMap<>();
        for (String l : Files.readAllLines(task.resolve("prompts.train.jsonl"))) {
            JsonNode r = Json.MAPPER.readTree(l);
            answers.put(r.get("prompt").asText(), r.get("answer").asText());
        }
        double mean = 0;
        List<String> lines = Files.readAllLines(grpo.resolve("samples").resolve("step-1.jsonl"));
        assertEquals(8, lines.size());
        for (String l : lines) {
            JsonNode r = Json.MAPPER.readTree(l);
            String answer = answers.get(r.get("prompt").asText());
            String got = MathAnswer.extract(r.get("response").asText());
            double expected = got != null && Double.parseDouble(got.replace(",", "")) == Double.parseDouble(answer) ? 1 : 0;
            assertEquals(expected, r.get("score").asDouble(), 0, r.toString());
            mean += expected / lines.size();
        }
        JsonNode m = new RunDirectory(grpo).metrics().get(0);
        assertEquals(mean, m.get("objective/scores").asDouble(), 1e-9, m.toString());

        Path eval = tmp.resolve("eval");
        Object[] c = BadInputTest.run(null, "compare", "--reference", sft.resolve("final").toString(), "--policy",
                "grpo=" + grpo.resolve("final"), "--policy", "sft=" + sft.resolve("final"), "--prompts", task.resolve("heldout.jsonl").toString(), "--grader",
                task.resolve("grader.json").toString(), "--samples", "4", "--max-new-tokens", "12", "--out",
                eval.toString());
        assertEquals(0, c[0], (String) c[1]);
        assertTrue(((String) c[1]).contains("PASS@1 (95% CI)") && ((String) c[1]).contains("PASS@4"), (String) c[1]);
        List<int[]> counts = passCounts(eval.resolve("grpo.jsonl"));
        double refAt1 = 0;
        for (int[] n : passCounts(eval.resolve("sft.jsonl"))) {
            refAt1 += n[1] / 4.0 / 3;
        }
        double at1 = 0;
        double at4 = 0;
        for (int[] n : counts) {
            assertEquals(4, n[0]);
            at1 += n[1] / 4.0 / 3;
            at4 += (n[1] > 0 ? 1.0 : 0.0) / 3;
        }
        JsonNode cmp = Json.MAPPER.readTree(eval.resolve("comparison.json").toFile()).get("grpo");
        assertEquals(at1, cmp.get("pass_at_1").asDouble(), 1e-12, cmp.toString());
        assertEquals(at4, cmp.get("pass_at_k").asDouble(), 1e-12, cmp.toString());
        assertEquals(4, cmp.get("pass_k").asInt());
        assertTrue(cmp.get("pass_at_1_ci95_low").asDouble() <= at1 && at1 <= cmp.get("pass_at_1_ci95_high").asDouble());
        // the paired difference against the reference's own samples of the same prompts
        assertEquals(at1 - refAt1, cmp.get("pass_at_1_vs_reference").asDouble(), 1e-12, cmp.toString());
        assertTrue(cmp.get("pass_at_1_vs_reference_ci95_low").asDouble() <= at1 - refAt1 + 1e-12
                && at1 - refAt1 <= cmp.get("pass_at_1_vs_reference_ci95_high").asDouble() + 1e-12, cmp.toString());
        JsonNode self = Json.MAPPER.readTree(eval.resolve("comparison.json").toFile()).get("sft");
        assertEquals(0, self.get("pass_at_1_vs_reference").asDouble(), 0, "the reference against itself");
        assertEquals(0, self.get("pass_at_1_vs_reference_ci95_low").asDouble(), 0);
        assertEquals(0, self.get("pass_at_1_vs_reference_ci95_high").asDouble(), 0);
    }

    /** Per prompt of a samples file: how many samples, how many passed. */
    private static List<int[]> passCounts(Path samples) throws Exception {
        List<int[]> counts = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            counts.add(new int[2]);
        }
        for (String l : Files.readAllLines(samples)) {
            JsonNode r = Json.MAPPER.readTree(l);
            int[] n = counts.get(r.get("prompt_index").asInt());
            n[0]++;
            n[1] += r.get("gold_score").asDouble() >= 1 ? 1 : 0;
        }
        return counts;
    }
}
