package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.util.Json;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Simulated annotators go through exactly the path people's judgments take: label prepare, a store
 * shared with label session, agreement, export, reward training; a second run judges nothing twice.
 */
class SimulatedLabelsTest {

    @TempDir
    Path tmp;

    @Test
    void simulatedJudgmentsFlowLikeAPersons() throws Exception {
        Path model = TinyModel.create(tmp, TinyModel.corpus(new SplittableRandom(8), 200), "sim-base");
        Path task = tmp.resolve("task");
        assertEquals(0, Align4j.run("examples", "positive-stories", "--out", task.toString(), "--train-prompts", "12",
                "--heldout-prompts", "4", "--sft-train", "8", "--sft-val", "2"));
        assertTrue(Files.isRegularFile(task.resolve("prompts.heldout.jsonl")));
        Path tasks = tmp.resolve("tasks.jsonl");
        assertEquals(0, Align4j.run("label", "prepare", "--model", model.toString(), "--prompts",
                task.resolve("prompts.train.jsonl").toString(), "--k", "3", "--max-new-tokens", "12", "--out",
                tasks.toString()));
        Path store = tmp.resolve("judgments.jsonl");
        for (String who : new String[] {"sim-1", "sim-2"}) {
            assertEquals(0, Align4j.run("label", "simulate", "--tasks", tasks.toString(), "--out", store.toString(),
                    "--annotator", who, "--judge", "length:6", "--temperature", "0.2", "--seed", who.substring(4)));
        }
        assertEquals(24, Files.readAllLines(store).size(), "12 tasks x 2 annotators");
        assertEquals(0, Align4j.run("label", "simulate", "--tasks", tasks.toString(), "--out", store.toString(),
                "--annotator", "sim-1", "--judge", "length:6"));
        assertEquals(24, Files.readAllLines(store).size(), "a second run judges nothing twice");
        assertEquals(0, Align4j.run("label", "agreement", "--in", store.toString(), "--tasks", tasks.toString()));
        Path ranked = tmp.resolve("ranked.jsonl");
        assertEquals(0, Align4j.run("label", "export", "--in", store.toString(), "--tasks", tasks.toString(), "--to",
                "rankings", "--out", ranked.toString()));
        assertEquals(0, Align4j.run("reward", "--model", model.toString(), "--train", ranked.toString(), "--out",
                tmp.resolve("rm").toString(), "--max-steps", "2", "--batch-size", "4"));

        // compare: the reference against itself has no KL and wins half its comparisons
        Path out = tmp.resolve("compare");
        assertEquals(0, Align4j.run("compare", "--reference", model.toString(), "--policy", "same=" + model,
                "--prompts", task.resolve("prompts.heldout.jsonl").toString(), "--judge", "length:6",
                "--reward-model", tmp.resolve("rm").resolve("final").toString(), "--max-new-tokens", "8", "--out",
                out.toString()));
        JsonNode c = Json.MAPPER.readTree(
                out.resolve("comparison.json").toFile()).get("same");
        assertEquals(4, c.get("n").asInt());
        assertEquals(0.5, c.get("win_rate_vs_reference").asDouble(), 0);
        assertEquals(0, c.get("kl").asDouble(), 1e-3);
        assertTrue(c.has("rm_score") && c.has("distinct_2") && c.has("gold_score_ci95"), c.toString());
        assertEquals(4, Files.readAllLines(out.resolve("same.jsonl")).size());
        assertEquals(1, Align4j.run("compare", "--reference", model.toString(), "--policy", "../x=" + model,
                "--prompts", task.resolve("prompts.heldout.jsonl").toString(), "--out", out.toString()));
    }
}
