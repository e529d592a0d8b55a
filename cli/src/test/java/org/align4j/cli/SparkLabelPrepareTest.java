package org.align4j.cli;

import static org.align4j.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.SplittableRandom;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.kernels.GenericKernels;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.util.Json;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * {@code label prepare} as Spark jobs on an embedded local[2]: the candidates' sampling and the reward
 * model's scoring for uncertainty selection on the executors; the task file is the single process's,
 * byte for byte, at 2 and 3 partitions.
 */
class SparkLabelPrepareTest {

    static final String MODEL = "../examples/base-model";

    @TempDir
    static Path tmp;
    static Path prompts;
    static Path rm;

    @BeforeAll
    static void promptsAndRewardModel() throws Exception {
        // 20 prompts: batches of 8, 8 and 4 prompts (x K candidates each)
        String[] openings = {"Mia found a small box.", "Tom lost his red kite.", "Ada saw a big storm.",
                "Kai met an old dog.", "Lily baked a cake.", "Ben heard a strange noise.", "The cat sat.",
                "Once upon a time", "It was a dark night.", "The film was"};
        StringBuilder p = new StringBuilder();
        for (int i = 0; i < 20; i++) {
            p.append("{\"prompt\": \"").append(openings[i % openings.length]).append(i < 10 ? "" : " Then")
                    .append("\"}\n");
        }
        prompts = tmp.resolve("prompts.jsonl");
        Files.writeString(prompts, p);
        Path base = Path.of(MODEL);
        DecoderModel m = ModelDirectory.load(base, new GenericKernels(), DataType.FLOAT, true);
        INDArray head = m.parameters().get(DecoderModel.SCORE_HEAD);
        SplittableRandom r = new SplittableRandom(9);
        for (long i = 0; i < head.length(); i++) {
            head.putScalar(i, r.nextGaussian() * 0.1);
        }
        rm = tmp.resolve("rm");
        ModelDirectory.save(m, rm);
        ModelDirectory.copyTokenizerFiles(base, rm);
    }

    static String[] prepare(Path out, String... extra) {
        List<String> args = new ArrayList<>(List.of("label", "prepare", "--model", MODEL, "--prompts",
                prompts.toString(), "--k", "3", "--max-new-tokens", "6", "--seed", "4", "--reward-model",
                rm.toString(), "--select", "uncertainty", "--budget", "12", "--out", out.toString(), "--force"));
        args.addAll(List.of(extra));
        return run("", args.toArray(new String[0]));
    }

    @Test
    void taskFileIsByteIdenticalToTheSingleProcessForTwoAndThreePartitions() throws Exception {
        Path out = tmp.resolve("tasks.jsonl");
        String[] single = prepare(out);
        assertEquals("0", single[0], single[2]);
        String expected = Files.readString(out);
        List<String> rows = expected.lines().toList();
        assertEquals(12, rows.size(), "the budget keeps 12 of 20 tasks");
        for (String row : rows) {
            JsonNode o = Json.MAPPER.readTree(row);
            HashSet<String> distinct = new HashSet<>();
            o.get("responses").forEach(x -> distinct.add(x.asText()));
            assertEquals(3, distinct.size(), row);
        }
        // uncertainty kept tasks the reward model separates least: not the first 12, nor random's choice
        List<String> ids = new ArrayList<>();
        for (String row : rows) {
            ids.add(Json.MAPPER.readTree(row).get("id").asText());
        }
        assertNotEquals(List.of("p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9", "p10", "p11", "p12"), ids);
        for (String partitions : new String[] {"2", "3"}) {
            String[] spark = prepare(out, "--spark-master", "local[2]", "--spark-partitions", partitions);
            assertEquals("0", spark[0], spark[2]);
            assertTrue(spark[2].contains("20 prompts in 3 batch(es) on local[2], " + partitions + " partition(s)"),
                    spark[2]);
            assertEquals(expected, Files.readString(out), partitions + " partitions");
        }
        // the selection reads the scores: random keeps other tasks (so the equality above covers the scoring)
        prepare(out, "--select", "random");
        assertNotEquals(expected, Files.readString(out));
        // and the seed is honoured
        prepare(out, "--seed", "5");
        assertNotEquals(expected, Files.readString(out));
    }

    /** In a fresh JVM (this one has Spark loaded) with class loading logged: a plain label prepare loads no Spark. */
    @Test
    void plainPrepareLoadsNoSparkClass() throws Exception {
        Path out = tmp.resolve("plain.jsonl");
        String[] plain = SparkGenerateTest.child(tmp, null, "label", "prepare", "--model", MODEL, "--prompts",
                prompts.toString(), "--k", "3", "--max-new-tokens", "6", "--reward-model", rm.toString(), "--budget",
                "3", "--out", out.toString());
        assertEquals("0", plain[0], plain[3]);
        assertTrue(plain[2].contains("org.align4j.pipeline.CandidateBatches"), "the log records our classes");
        assertTrue(plain[2].contains("org.align4j.pipeline.TaskRewards"), "the budget's scores ran");
        assertFalse(plain[2].contains("org.apache.spark."), "a plain label prepare loaded Spark");
        assertFalse(plain[2].contains(" scala."), "a plain label prepare loaded Scala");
        assertEquals(3, Files.readAllLines(out).size());
    }

    @Test
    void badMasterUrlIsOneLineBeforeAnySampling() {
        Path out = tmp.resolve("never.jsonl");
        String[] r = run("", "label", "prepare", "--model", MODEL, "--prompts", prompts.toString(), "--out",
                out.toString(), "--spark-master", "spark//host:7077");
        assertEquals("1", r[0]);
        assertTrue(r[2].contains("--spark-master spark//host:7077: not a Spark master URL"), r[2]);
        assertFalse(r[2].contains("candidates:"), r[2]);
        assertFalse(Files.exists(out));
    }
}
