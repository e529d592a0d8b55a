package org.align4j.cli;

import static org.align4j.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.align4j.core.util.Json;

/**
 * The human path end to end: {@code label prepare} samples tasks, {@code label session} (driven
 * through stdin) ranks them, {@code pipeline --judgments} trains on those rankings; and a config
 * with a mistake is refused, naming the file and the key, before any work.
 */
class PipelineCommandTest {

    static final String TINY = """
            {"base_model": "../examples/base-model",
             "task": {"train_prompts": 8, "heldout_prompts": 4, "sft_train": 16, "sft_val": 4},
             "sft": {"max_steps": 2, "batch_size": 8},
             "reward": {"max_steps": 2, "batch_size": 4},
             "ppo": {"max_steps": 1, "batch_size": 4, "max_new_tokens": 8},
             "dpo": {"max_steps": 2, "batch_size": 4},
             "eval": {"max_new_tokens": 8, "examples": 2}}
            """;

    /** The start of a config whose base model resolves from a module's directory, as the tests run. */
    static final String BASE = "{\"base_model\": \"../examples/base-model\", ";

    @TempDir
    Path tmp;

    @Test
    void peopleLabelThePipelineTrains() throws Exception {
        Path config = tmp.resolve("tiny.json");
        Files.writeString(config, TINY);
        Path prompts = tmp.resolve("prompts.jsonl");
        StringBuilder p = new StringBuilder();
        String[] openings = {"Mia found a small box.", "Tom lost his red kite.", "Ada saw a big storm.",
                "Kai met an old dog.", "Lily baked a cake.", "Ben heard a strange noise."};
        for (int i = 0; i < openings.length; i++) {
            p.append("{\"id\": \"h").append(i).append("\", \"prompt\": \"").append(openings[i]).append("\"}\n");
        }
        Files.writeString(prompts, p);
        Path tasks = tmp.resolve("tasks.jsonl");
        String[] prep = run("", "label", "prepare", "--model", "../examples/base-model", "--prompts",
                prompts.toString(), "--k", "3", "--max-new-tokens", "8", "--out", tasks.toString());
        assertEquals("0", prep[0], prep[2]);
        Path judgments = tmp.resolve("judgments.jsonl");
        // six rankings, one per task, typed as a person would
        String[] session = run("A>B>C\nC>A=B\nB>C>A\nA>C>B\nC>B>A\nB>A>C\n", "label", "session", "--tasks",
                tasks.toString(), "--out", judgments.toString(), "--annotator", "ann");
        assertEquals("0", session[0], session[2]);
        assertEquals(6, Files.readAllLines(judgments).size());

        Path out = tmp.resolve("human");
        String[] r = run("", "pipeline", "--config", config.toString(), "--tasks", tasks.toString(), "--judgments",
                judgments.toString(), "--out", out.toString());
        assertEquals("0", r[0], r[2]);
        assertTrue(r[1].contains("report: " + out.resolve("report.html")), r[1]);
        JsonNode labels = Json.MAPPER.readTree(out.resolve("labels/labels.json").toFile());
        assertEquals(6, labels.get("judgments").asInt());
        assertEquals("ann", labels.get("annotators").get(0).asText());
        assertTrue(labels.get("agreement").isNull(), "one annotator: no agreement figure");
        // 6 tasks: 1 held out (15%, at least one); every ranking kept
        assertEquals(5, Files.readAllLines(out.resolve("labels/rankings.train.jsonl")).size());
        assertEquals(1, Files.readAllLines(out.resolve("labels/rankings.val.jsonl")).size());
        assertEquals(Files.readString(judgments), Files.readString(out.resolve("labels/judgments.jsonl")));
        JsonNode report = Json.MAPPER.readTree(out.resolve("report.json").toFile());
        assertEquals(4, report.get("policies").get("dpo").get("n").asInt());

        // runs plot draws the same curves for any run: PPO's score, KL and losses, loss
        Path png = tmp.resolve("ppo.png");
        String[] plot = run("", "runs", "plot", out.resolve("ppo").toString(), "--out", png.toString());
        assertEquals("0", plot[0], plot[2]);
        java.awt.image.BufferedImage img = javax.imageio.ImageIO.read(png.toFile());
        int charts = Integer.parseInt(plot[1].replaceAll("(?s).*: (\\d+) chart.*", "$1"));
        assertTrue(charts >= 3, plot[1]);
        assertEquals(2 * 560, img.getWidth());
        assertEquals((charts + 1) / 2 * 320, img.getHeight());
    }

    @Test
    void mistakesAreNamedBeforeAnyWork() throws Exception {
        Path out = tmp.resolve("never");
        Path bad = tmp.resolve("bad.json");
        Files.writeString(bad, BASE + "\"task\": {\"train_promts\": 8}}");
        String[] r = run("", "pipeline", "--config", bad.toString(), "--out", out.toString());
        assertEquals("1", r[0]);
        assertTrue(r[2].contains(bad + ": unknown setting 'task.train_promts'"), r[2]);
        Files.writeString(bad, BASE + "\"dpo\": {\"betta\": 0.1}}");
        r = run("", "pipeline", "--config", bad.toString(), "--out", out.toString());
        assertEquals("1", r[0]);
        assertTrue(r[2].contains("section 'dpo': unknown setting 'betta'"), r[2]);
        Files.writeString(bad, BASE + "\"sft\": {\"train_file\": \"x.jsonl\"}}");
        r = run("", "pipeline", "--config", bad.toString(), "--out", out.toString());
        assertEquals("1", r[0]);
        assertTrue(r[2].contains("section 'sft': 'train_file' is set by the pipeline"), r[2]);
        Files.writeString(bad, BASE + "\"ppo\": {\"lr\": -1}}");
        r = run("", "pipeline", "--config", bad.toString(), "--out", out.toString());
        assertEquals("1", r[0]);
        assertTrue(r[2].contains(bad + ": section 'ppo': setting 'lr' must be above 0, got -1"), r[2]);
        r = run("", "pipeline", "--config", bad.toString(), "--judgments", bad.toString(), "--out", out.toString());
        assertEquals("1", r[0]);
        assertTrue(r[2].contains("--judgments and --tasks go together"), r[2]);
        assertFalse(Files.exists(out), "nothing written");
    }
}
