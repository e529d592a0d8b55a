package org.align4j.cli;

import static org.align4j.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.util.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code pipeline --spark-master local[2]}: the option reaches every stage (SFT, the reward model, PPO,
 * PPO-ptx, DPO and KTO train data-parallel), and the pipeline's candidates and evaluation, sampled on the executors, are
 * what the one-process {@code label prepare} and {@code compare} give on the pipeline's own models,
 * byte for byte.
 */
class SparkPipelineTest {

    static final String CONFIG = """
            {"base_model": "../examples/base-model",
             "task": {"train_prompts": 8, "heldout_prompts": 4, "sft_train": 16, "sft_val": 4},
             "candidates": {"k": 3, "max_new_tokens": 8},
             "sft": {"max_steps": 2, "batch_size": 4, "grad_accum": 2},
             "reward": {"max_steps": 1, "batch_size": 4},
             "ppo": {"max_steps": 1, "batch_size": 4, "max_new_tokens": 8},
             "dpo": {"max_steps": 1, "batch_size": 4},
             "kto": {"max_steps": 1, "batch_size": 4},
             "eval": {"max_new_tokens": 8, "batch_size": 3, "examples": 1}}
            """;

    @TempDir
    Path tmp;

    @Test
    void stagesRunOnTheClusterAndBatchStepsMatchTheSingleProcessCommands() throws Exception {
        Path config = tmp.resolve("tiny.json");
        Files.writeString(config, CONFIG);
        Path out = tmp.resolve("p");
        String[] r = run("", "pipeline", "--config", config.toString(), "--out", out.toString(), "--spark-master",
                "local[2]", "--spark-partitions", "2");
        assertEquals("0", r[0], r[2]);
        String log = r[2];
        // SFT, reward, PPO, PPO-ptx, DPO, KTO: data-parallel, each step's micro-batches in 2 slices
        assertEquals(6, log.split("data-parallel on local\\[2]: each step's micro-batches in 2 slice", -1).length - 1,
                log);
        assertTrue(log.contains("candidates: 8 prompts in 1 batch(es) on local[2], 2 partition(s)"), log);
        assertTrue(log.contains("sampling and scoring on local[2] in 2 partition(s) of 2 batch(es)"), log);

        // the candidates are label prepare's on the pipeline's SFT model (the pipeline's seed, 1)
        Path tasks = tmp.resolve("tasks.jsonl");
        String[] prep = run("", "label", "prepare", "--model", out.resolve("sft/final").toString(), "--prompts",
                out.resolve("task/prompts.train.jsonl").toString(), "--k", "3", "--temperature", "1.0", "--top-p",
                "0.95", "--max-new-tokens", "8", "--seed", "1", "--out", tasks.toString());
        assertEquals("0", prep[0], prep[2]);
        assertEquals(Files.readString(tasks), Files.readString(out.resolve("labels/tasks.jsonl")));

        // the evaluation is compare's on the pipeline's models (reference SFT, the reward model, seed 7)
        List<String> policies = List.of("sft", "ppo", "ppo-ptx", "dpo", "kto");
        List<String> args = new ArrayList<>(List.of("compare", "--reference", out.resolve("sft/final").toString()));
        for (String p : policies) {
            args.addAll(List.of("--policy", p + "=" + out.resolve(p).resolve("final")));
        }
        Path cmp = tmp.resolve("cmp");
        args.addAll(List.of("--prompts", out.resolve("task/prompts.heldout.jsonl").toString(), "--judge", "sentiment",
                "--reward-model", out.resolve("reward/final").toString(), "--max-new-tokens", "8", "--seed", "7",
                "--batch-size", "3", "--out", cmp.toString()));
        String[] c = run("", args.toArray(new String[0]));
        assertEquals("0", c[0], c[2]);
        for (String p : policies) {
            assertEquals(Files.readString(cmp.resolve(p + ".jsonl")), Files.readString(out.resolve("eval/" + p
                    + ".jsonl")), p);
        }
        JsonNode expected = withoutPaths(Json.MAPPER.readTree(cmp.resolve("comparison.json").toFile()));
        JsonNode got = withoutPaths(Json.MAPPER.readTree(out.resolve("eval/comparison.json").toFile()));
        assertEquals(expected, got);
        assertEquals(4, got.get("dpo").get("n").asInt());
        assertTrue(got.get("dpo").get("kl").asDouble() != 0, "DPO moved away from SFT: " + got);
    }

    /** comparison.json less each policy's samples path (the two runs wrote into different directories). */
    private static JsonNode withoutPaths(JsonNode root) {
        root.fields().forEachRemaining(e -> ((ObjectNode) e.getValue()).remove("samples"));
        return root;
    }

    @Test
    void badMasterUrlIsRefusedBeforeAnyStage() throws Exception {
        Path config = tmp.resolve("tiny.json");
        Files.writeString(config, CONFIG);
        Path out = tmp.resolve("never");
        String[] r = run("", "pipeline", "--config", config.toString(), "--out", out.toString(), "--spark-master",
                "local[two]");
        assertEquals("1", r[0]);
        assertTrue(r[2].contains("--spark-master local[two]: not a Spark master URL"), r[2]);
        assertFalse(r[2].contains("[1/"), "no step began: " + r[2]);
        assertFalse(Files.exists(out), "nothing written");
    }
}
