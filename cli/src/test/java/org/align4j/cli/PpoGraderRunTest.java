package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.run.RunDirectory;
import org.align4j.core.util.Json;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ppo --grader} on the tiny model: the prompts' records reach the grader ({{item.word}}),
 * the run completes and logs the grader's scores and its named parts, and the prompt whose grader
 * fails gives its samples 0 and an error (counted, and in the samples file) without stopping the
 * run. A record lacking a field the grader reads is refused before any work.
 */
class PpoGraderRunTest {

    @TempDir
    static Path tmp;
    static Path model;
    static Path prompts;
    static Path grader;

    @BeforeAll
    static void modelPromptsAndGrader() throws Exception {
        model = TinyModel.create(tmp, TinyModel.corpus(new SplittableRandom(6), 300), "ppo-grader-base");
        StringBuilder p = new StringBuilder();
        List<String> words = List.of("the cat", "the dog", "a mat", "the log", "a big", "small blue", "then a", "the");
        for (int i = 0; i < words.size(); i++) {
            // the last prompt's answer is empty: its math_answer fails on every sample
            p.append(Json.MAPPER.createObjectNode().put("prompt", words.get(i)).put("word", i % 2 == 0 ? "red" : "the")
                    .put("answer", i == words.size() - 1 ? "" : "7")).append('\n');
        }
        prompts = tmp.resolve("prompts.jsonl");
        Files.writeString(prompts, p);
        grader = tmp.resolve("grader.json");
        Files.writeString(grader, """
                {"type": "multi", "name": "word", "calculate_output": "hit + 0 * seven",
                 "graders": {
                   "hit": {"type": "string_check", "name": "hit", "input": "{{sample.output_text}}",
                           "reference": "{{item.word}}", "operation": "ilike"},
                   "seven": {"type": "math_answer", "name": "seven", "reference": "{{item.answer}}"}}}""");
    }

    static String[] args(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("ppo", "--model", model.toString(), "--grader",
                grader.toString(), "--prompts", prompts.toString(), "--out", out.toString(), "--max-steps", "2",
                "--batch-size", "8", "--samples-per-prompt", "4", "--estimator", "grpo", "--max-new-tokens", "12",
                "--seed", "3", "--sample-every", "1", "--grader-concurrency", "3"));
        a.addAll(List.of(extra));
        return a.toArray(new String[0]);
    }

    @Test
    void aGraderRunCompletesLogsItsScoresAndSurvivesAFailingPrompt() throws Exception {
        Path out = tmp.resolve("run");
        Object[] r = BadInputTest.run(null, args(out));
        String log = (String) r[1];
        assertEquals(0, r[0], log);
        assertTrue(log.contains("reward: " + grader + ": word: multi: hit + 0 * seven of hit, seven"), log);
        assertTrue(log.contains("the grader failed on 4 of 32 samples (scored 0), first: grader 'seven': math_answer"
                + " 'seven': the reference {{item.answer}} is empty"), log);
        List<JsonNode> metrics = new RunDirectory(out).metrics();
        assertEquals(2, metrics.size());
        for (JsonNode m : metrics) {
            assertEquals(4, m.get("objective/grader_errors").asDouble(), 0, m.toString());
            assertTrue(m.has("objective/grader/hit") && m.has("objective/grader/seven"), m.toString());
        }
        // the samples file: each score is the string check of the response against its prompt's word, 0 where it failed
        int failed = 0;
        int checked = 0;
        for (String line : Files.readAllLines(out.resolve("samples").resolve("step-2.jsonl"))) {
            JsonNode s = Json.MAPPER.readTree(line);
            boolean last = s.get("prompt").asText().equals("the");
            if (last) {
                failed++;
                assertEquals(0, s.get("score").asDouble(), 0);
                assertTrue(s.get("grader_error").asText().contains("{{item.answer}} is empty"), s.toString());
            } else {
                assertFalse(s.has("grader_error"), s.toString());
                String word = List.of("the cat", "a mat", "a big", "then a").contains(s.get("prompt").asText()) ? "red"
                        : "the";
                assertEquals(s.get("response").asText().toLowerCase().contains(word) ? 1 : 0,
                        s.get("score").asDouble(), 0, s.toString());
                checked++;
            }
        }
        assertEquals(4, failed);
        assertEquals(28, checked);
        // the mean score logged is the mean of the samples' scores
        double mean = 0;
        for (String line : Files.readAllLines(out.resolve("samples").resolve("step-2.jsonl"))) {
            mean += Json.MAPPER.readTree(line).get("score").asDouble() / 32;
        }
        assertEquals(mean, metrics.get(1).get("objective/scores").asDouble(), 1e-9);
    }

    @Test
    void mistakesAreRefusedBeforeAnyWork() throws Exception {
        Path lacking = tmp.resolve("lacking.jsonl");
        Files.writeString(lacking, "{\"prompt\": \"the cat\", \"word\": \"red\", \"answer\": \"1\"}\n"
                + "\n{\"prompt\": \"the dog\", \"answer\": \"1\"}\n"); // line 3, past a blank line
        Path out = tmp.resolve("refused");
        BadInputTest.expectFailure(BadInputTest.run(null, args(out, "--prompts", lacking.toString())),
                lacking + ":3: lacks {{item.word}}, which the grader " + grader + " reads");
        BadInputTest.expectFailure(BadInputTest.run(null, args(out, "--reward-fn", "sentiment")),
                "give exactly one of --reward-model DIR, --reward-fn NAME and --grader FILE.json");
        Path python = tmp.resolve("python.json");
        Files.writeString(python, "{\"type\": \"python\", \"name\": \"p\", \"source\": \"x\"}");
        BadInputTest.expectFailure(BadInputTest.run(null, args(out, "--grader", python.toString())),
                python + ": $: type 'python' is not supported");
        assertFalse(Files.exists(out.resolve("checkpoints")));
    }
}
