package org.align4j.cli;

import static org.align4j.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
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
 * {@code compare} as Spark jobs on an embedded local[2] (one context for the class): each policy's
 * sampling, the reference's log-probabilities and the reward model's scores on the executors, the
 * grader on the driver; the files are the single process's, byte for byte, at 2 and 3 partitions.
 */
class SparkCompareTest {

    static final Path BASE = Path.of("..", "examples", "base-model");

    @TempDir
    static Path tmp;
    static Path policy;
    static Path rm;
    static Path prompts;
    static Path grader = Path.of("..", "examples", "arithmetic", "grader.json");

    @BeforeAll
    static void modelsAndPrompts() throws Exception {
        // a policy away from the reference (a KL of zero everywhere would make the log-ratios vacuous)
        DecoderModel p = ModelDirectory.load(BASE, new GenericKernels(), DataType.FLOAT);
        INDArray w = p.parameters().flat();
        SplittableRandom r = new SplittableRandom(11);
        for (long i = 0; i < w.length(); i++) {
            w.putScalar(i, w.getDouble(i) + r.nextGaussian() * 0.02);
        }
        policy = tmp.resolve("policy");
        ModelDirectory.save(p, policy);
        ModelDirectory.copyTokenizerFiles(BASE, policy);
        // a reward model whose head has seeded random weights (a fresh head scores everything 0)
        DecoderModel m = ModelDirectory.load(BASE, new GenericKernels(), DataType.FLOAT, true);
        INDArray head = m.parameters().get(DecoderModel.SCORE_HEAD);
        for (long i = 0; i < head.length(); i++) {
            head.putScalar(i, r.nextGaussian() * 0.1);
        }
        rm = tmp.resolve("rm");
        ModelDirectory.save(m, rm);
        ModelDirectory.copyTokenizerFiles(BASE, rm);
        // five arithmetic questions (the grader reads their answers): x 2 samples = 10 records in batches of 3
        prompts = tmp.resolve("heldout.jsonl");
        List<String> lines = Files.readAllLines(Path.of("..", "examples", "arithmetic", "heldout.jsonl"));
        Files.write(prompts, lines.subList(0, 5));
    }

    static String[] compare(Path out, String... extra) {
        List<String> args = new ArrayList<>(List.of("compare", "--reference", BASE.toString(), "--policy",
                "sft=" + BASE, "--policy", "noisy=" + policy, "--prompts", prompts.toString(), "--grader",
                grader.toString(), "--samples", "2", "--reward-model", rm.toString(), "--max-new-tokens", "6",
                "--batch-size", "3", "--seed", "5", "--out", out.toString(), "--force"));
        args.addAll(List.of(extra));
        return run("", args.toArray(new String[0]));
    }

    /** The bytes of the files compare wrote into {@code out}. */
    static List<byte[]> files(Path out) throws Exception {
        List<byte[]> f = new ArrayList<>();
        for (String name : List.of("sft.jsonl", "noisy.jsonl", "comparison.json")) {
            f.add(Files.readAllBytes(out.resolve(name)));
        }
        return f;
    }

    @Test
    void filesAreByteIdenticalToTheSingleProcessForTwoAndThreePartitions() throws Exception {
        Path out = tmp.resolve("cmp");
        String[] single = compare(out);
        assertEquals("0", single[0], single[2]);
        List<byte[]> expected = files(out);
        // the comparison is not vacuous: 10 samples per policy, rewards that differ, log-ratios away from 0
        List<String> rows = Files.readAllLines(out.resolve("noisy.jsonl"));
        assertEquals(10, rows.size());
        Set<String> rewards = new HashSet<>();
        double absKl = 0;
        for (String row : rows) {
            JsonNode o = Json.MAPPER.readTree(row);
            rewards.add(o.get("rm_score").asText());
            absKl += Math.abs(o.get("kl").asDouble());
            assertTrue(o.has("prompt_index") && o.has("gold_score"), row);
        }
        assertTrue(rewards.size() >= 8, "rewards differ between samples: " + rewards);
        assertTrue(absKl > 0.1, "the noisy policy's log-ratios: " + absKl);
        JsonNode cmp = Json.MAPPER.readTree(expected.get(2));
        assertEquals(5, cmp.get("noisy").get("prompts").asInt());
        assertEquals(2, cmp.get("noisy").get("samples_per_prompt").asInt());
        for (String partitions : new String[] {"2", "3"}) {
            String[] spark = compare(out, "--spark-master", "local[2]", "--spark-partitions", partitions);
            assertEquals("0", spark[0], spark[2]);
            assertTrue(spark[2].contains("sampling and scoring on local[2] in " + partitions + " partition(s)"),
                    spark[2]);
            List<byte[]> got = files(out);
            for (int i = 0; i < expected.size(); i++) {
                assertArrayEquals(expected.get(i), got.get(i), "file " + i + " at " + partitions + " partitions");
            }
            assertEquals(single[1], spark[1], "the same table");
        }
        // the seed is honoured: another seed draws other samples (the equality above is not vacuous)
        compare(out, "--seed", "6");
        assertFalse(java.util.Arrays.equals(expected.get(1), files(out).get(1)));
    }

    /**
     * Sampling is seeded per record, not per batch: one prompt four times in batches of two gives four
     * different samples (seeded by batch position, records 0 and 2 drew the same random numbers and
     * so the same response).
     */
    @Test
    void eachRecordDrawsItsOwnSamplesWhateverItsBatch() throws Exception {
        Path same = tmp.resolve("same.jsonl");
        String line = Files.readAllLines(prompts).get(0);
        Files.writeString(same, String.join("\n", line, line, line, line) + "\n");
        Path out = tmp.resolve("same");
        String[] r = run("", "compare", "--reference", BASE.toString(), "--policy", "sft=" + BASE, "--prompts",
                same.toString(), "--max-new-tokens", "8", "--batch-size", "2", "--seed", "5", "--out", out.toString());
        assertEquals("0", r[0], r[2]);
        List<String> responses = new ArrayList<>();
        for (String row : Files.readAllLines(out.resolve("sft.jsonl"))) {
            responses.add(Json.MAPPER.readTree(row).get("response").asText());
        }
        assertEquals(4, responses.size());
        assertNotEquals(responses.get(0), responses.get(2), "records 0 and 2 share a batch position");
        assertNotEquals(responses.get(1), responses.get(3), "records 1 and 3 share a batch position");
    }

    /** In a fresh JVM (this one has Spark loaded) with class loading logged: a plain compare loads no Spark or Scala. */
    @Test
    void plainCompareLoadsNoSparkClass() throws Exception {
        Path out = tmp.resolve("plain");
        String[] plain = SparkGenerateTest.child(tmp, null, "compare", "--reference", BASE.toString(), "--policy",
                "noisy=" + policy, "--prompts", prompts.toString(), "--reward-model", rm.toString(),
                "--max-new-tokens", "4", "--out", out.toString());
        assertEquals("0", plain[0], plain[3]);
        assertTrue(plain[2].contains("org.align4j.pipeline.ComparisonBatches"), "the log records our classes");
        assertFalse(plain[2].contains("org.apache.spark."), "a plain compare loaded Spark");
        assertFalse(plain[2].contains(" scala."), "a plain compare loaded Scala");
        assertEquals(5, Files.readAllLines(out.resolve("noisy.jsonl")).size());
    }

    @Test
    void badMasterUrlIsOneLineBeforeAnySampling() {
        Path out = tmp.resolve("never");
        String[] r = run("", "compare", "--reference", BASE.toString(), "--policy", "sft=" + BASE, "--prompts",
                prompts.toString(), "--out", out.toString(), "--spark-master", "locl[2]");
        assertEquals("1", r[0]);
        assertTrue(r[2].contains("--spark-master locl[2]: not a Spark master URL"), r[2]);
        assertFalse(r[2].contains("Exception") || r[2].contains("\tat "), r[2]);
        assertFalse(r[2].contains("reference:"), "no sampling began: " + r[2]);
        assertFalse(Files.exists(out.resolve("comparison.json")));
    }
}
