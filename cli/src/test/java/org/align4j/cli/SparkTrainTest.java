package org.align4j.cli;

import static org.align4j.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.checkpoint.Safetensors;
import org.align4j.core.kernels.GenericKernels;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.run.RunDirectory;
import org.align4j.core.util.Json;
import org.align4j.train.ReferenceCache;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Data-parallel training on an embedded local[2] (one Spark context for the class): each stage's
 * run with --spark-master against the single-process run of the same settings, which is the
 * oracle: losses within 1e-5 relative at every step and final weights within 1e-5, for one slice
 * per micro-batch and for slices of several; two identical distributed runs give bit-identical
 * weights; a distributed run cancelled after its first step and resumed gives the uninterrupted
 * run's weights. PPO's rollouts, their scores and its old-policy, reference and value passes, and
 * DPO's reference pass, run on the executors too: the same responses and grader scores byte for
 * byte, a reward model's scores and the KL within rounding (a slice's batch rounds otherwise than
 * the whole rollout's), and the same reference cache file, byte for byte (DPO's batches are the
 * single process's).
 */
class SparkTrainTest {

    @TempDir
    static Path tmp;
    static TinyModel.TextAndPairs data;

    static Path prompts;
    /** A reward model: the tiny model with a score head of seeded random weights (a fresh head scores all alike). */
    static Path rm;
    /** The stderr of the last {@link #ppo} or {@link #train} run. */
    static String lastLog;

    @BeforeAll
    static void modelAndData() throws Exception {
        data = TinyModel.textAndPairs(tmp, 11, 40);
        DecoderModel m = ModelDirectory.load(data.model(), new GenericKernels(), DataType.FLOAT, true);
        INDArray head = m.parameters().get(DecoderModel.SCORE_HEAD);
        SplittableRandom r = new SplittableRandom(4);
        for (long i = 0; i < head.length(); i++) {
            head.putScalar(i, r.nextGaussian() * 0.3);
        }
        rm = tmp.resolve("rm");
        ModelDirectory.save(m, rm);
        ModelDirectory.copyTokenizerFiles(data.model(), rm);
        prompts = tmp.resolve("prompts.jsonl");
        StringBuilder p = new StringBuilder();
        for (String w : List.of("the cat", "the dog", "a mat", "the log", "a big", "small blue", "then a", "the")) {
            p.append("{\"prompt\": \"").append(w).append("\"}\n");
        }
        Files.writeString(prompts, p);
    }

    /**
     * PPO for 3 iterations of 4 prompts x 2 samples, one update each (3 AdamW steps, as the other stages'
     * tests), with a rule reward that about half the responses
     * earn: with no reward signal GRPO's gradient is the KL term's alone, zero up to rounding at the
     * first update, and AdamW's normalised step would turn rounding into a full step. The learning rate
     * is 1e-3: AdamW's first steps move a weight by about lr whatever its gradient's size, so a weight
     * whose gradient is a near-cancellation moves by lr times that gradient's relative rounding (the
     * shards' padded batches round otherwise than the whole mini-batch's): measured 1.4e-5 at 3e-3.
     */
    static Path ppo(String name, String estimator, List<String> reward, String... extra) {
        Path out = tmp.resolve(name);
        List<String> a = new ArrayList<>(List.of("ppo", "--model", data.model().toString(), "--prompts",
                prompts.toString(), "--out", out.toString(), "--max-steps", "3",
                "--batch-size", "4", "--samples-per-prompt", "2", "--max-new-tokens", "8", "--lr", "1e-3",
                "--seed", "3", "--save-every", "10", "--estimator", estimator, "--ppo-epochs", "1", "--mini-batches", "1",
                "--sample-every", "1"));
        a.addAll(reward);
        a.addAll(List.of(extra));
        String[] r = run("", a.toArray(new String[0]));
        assertEquals("0", r[0], r[2]);
        lastLog = r[2];
        return out;
    }

    /** Settings for 3 steps of 3 micro-batches of 4 examples each, on {@code train}. */
    static String[] args(String stage, Path train, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of(stage, "--model", data.model().toString(), "--train", train.toString(),
                "--out", out.toString(), "--max-steps", "3", "--batch-size", "4", "--grad-accum", "3", "--lr", "3e-3",
                "--warmup-steps", "0", "--seed", "7", "--save-every", "10"));
        a.addAll(List.of(extra));
        return a.toArray(new String[0]);
    }

    static Path train(String stage, Path trainFile, String name, String... extra) {
        Path out = tmp.resolve(name);
        String[] r = run("", args(stage, trainFile, out, extra));
        assertEquals("0", r[0], r[2]);
        lastLog = r[2];
        return out;
    }

    static Map<String, float[]> weights(Path modelDir) throws Exception {
        Map<String, float[]> w = new TreeMap<>();
        try (Safetensors.Reader r = Safetensors.open(modelDir.resolve("model.safetensors"))) {
            for (String name : r.tensors().keySet()) {
                w.put(name, r.readFloats(name));
            }
        }
        return w;
    }

    /** Losses within 1e-5 relative per step, weights within 1e-5, and training moved the weights (not vacuous). */
    static void assertSameRun(Path single, Path spark, String what) throws Exception {
        assertSameRun(single, spark, what, 3, 0);
    }

    /**
     * {@code scale}: the size of the terms a loss sums, when they cancel (PPO's policy loss sums whitened
     * advantages times ratios, terms of about 1, to about 1e-4): 1e-5 relative to them, not to the sum.
     */
    static void assertSameRun(Path single, Path spark, String what, int steps, double scale) throws Exception {
        List<Double> a = TinyModel.losses(single);
        List<Double> b = TinyModel.losses(spark);
        assertEquals(steps, a.size(), what);
        assertEquals(a.size(), b.size(), what);
        for (int i = 0; i < a.size(); i++) {
            assertEquals(a.get(i), b.get(i), 1e-5 * Math.max(Math.abs(a.get(i)), scale), what + ": loss at step "
                    + (i + 1));
        }
        assertNotEquals(a.get(0), a.get(2), what + ": the loss moved");
        assertSameWeights(single.resolve("final"), spark.resolve("final"), what);
    }

    static void assertSameWeights(Path a, Path b, String what) throws Exception {
        Map<String, float[]> wa = weights(a);
        Map<String, float[]> wb = weights(b);
        assertEquals(wa.keySet(), wb.keySet(), what);
        double maxDiff = 0;
        for (String name : wa.keySet()) {
            float[] x = wa.get(name);
            float[] y = wb.get(name);
            for (int i = 0; i < x.length; i++) {
                maxDiff = Math.max(maxDiff, Math.abs(x[i] - y[i]));
            }
        }
        assertTrue(maxDiff <= 1e-5, what + ": final weights differ by " + maxDiff);
    }

    static void assertIdenticalWeights(Path a, Path b) throws Exception {
        assertEquals(-1, Files.mismatch(a.resolve("final/model.safetensors"), b.resolve("final/model.safetensors")),
                a + " and " + b);
    }

    @Test
    void sftOnTwoAndThreeSlicesIsTheSingleProcessRunAndRepeatsBitForBit() throws Exception {
        Path single = train("sft", data.text(), "sft-single");
        Path two = train("sft", data.text(), "sft-2", "--spark-master", "local[2]", "--spark-partitions", "2");
        Path three = train("sft", data.text(), "sft-3", "--spark-master", "local[2]", "--spark-partitions", "3");
        Path twoAgain = train("sft", data.text(), "sft-2b", "--spark-master", "local[2]", "--spark-partitions", "2");
        assertSameRun(single, two, "2 slices");
        assertSameRun(single, three, "3 slices");
        assertIdenticalWeights(two, twoAgain);
        // the data-parallel rows say where the step's time went and what moved
        JsonNode row = new RunDirectory(two).metrics().get(0);
        assertTrue(row.get("dp/compute_s").asDouble() > 0, row.toString());
        assertEquals(2 * row.get("dp/weight_bytes").asLong(), row.get("dp/gradient_bytes").asLong(), row.toString());
    }

    @Test
    void oneSliceGivesTheSingleProcessWeightsBitForBit() throws Exception {
        // one slice accumulates every micro-batch in one replica, as the one process does in its model
        Path single = train("sft", data.text(), "sft-one-single", "--max-steps", "2");
        Path one = train("sft", data.text(), "sft-one", "--max-steps", "2", "--spark-master", "local[2]",
                "--spark-partitions", "1");
        assertIdenticalWeights(single, one);
    }

    @Test
    void dpoWithItsReferencePassOnTheExecutorsIsTheSingleProcessRun() throws Exception {
        // validation pairs too: their reference log-probabilities are part of the cache; 13 train pairs in
        // batches of 4 make a short last batch, and 3 slices of 4 batches put two batches in one task
        Path val = tmp.resolve("val.jsonl");
        Files.writeString(val, String.join("\n", Files.readAllLines(data.pairs()).subList(0, 6)) + "\n");
        Path pairs = tmp.resolve("pairs13.jsonl");
        Files.writeString(pairs, String.join("\n", Files.readAllLines(data.pairs()).subList(6, 19)) + "\n");
        Path single = train("dpo", pairs, "dpo-single", "--val", val.toString());
        Path spark = train("dpo", pairs, "dpo-3", "--val", val.toString(), "--spark-master", "local[2]",
                "--spark-partitions", "3");
        assertTrue(lastLog.contains("reference log-probabilities of 19 pair(s) from " + data.model() + " on local[2]"
                + " (3 slices)"), lastLog);
        assertSameReference(single, spark, 13, 6);
        assertSameRun(single, spark, "dpo");
        // evaluated on the driver with weights equal to rounding (the slices' gradients sum otherwise)
        List<Double> va = PpoRunTest.column(single, "val_loss");
        List<Double> vb = PpoRunTest.column(spark, "val_loss");
        assertEquals(3, va.size());
        for (int i = 0; i < va.size(); i++) {
            assertEquals(va.get(i), vb.get(i), 1e-5 * va.get(i), "validation loss at step " + (i + 1));
        }
    }

    @Test
    void dpoWithLoraTakesItsReferenceFromThePolicyWithAdaptersOffOnTheExecutors() throws Exception {
        // the reference is the policy's base, loaded as the policy is and its fresh adapters switched off
        Path single = train("dpo", data.pairs(), "dpo-lora-single", "--lora-r", "4", "--max-steps", "1");
        Path spark = train("dpo", data.pairs(), "dpo-lora-2", "--lora-r", "4", "--max-steps", "1", "--spark-master",
                "local[2]", "--spark-partitions", "2");
        assertTrue(lastLog.contains("on local[2] (2 slices)"), lastLog);
        assertSameReference(single, spark, 40, 0);
    }

    /**
     * The reference caches of two runs are the same file, byte for byte, with {@code train} and
     * {@code val} rows of a chosen and a rejected log-probability each, all negative (not vacuous).
     */
    static void assertSameReference(Path single, Path spark, int train, int val) throws Exception {
        Path a = single.resolve(ReferenceCache.FILE);
        Path b = spark.resolve(ReferenceCache.FILE);
        assertEquals(-1, Files.mismatch(a, b), Files.readString(a) + "\n" + Files.readString(b));
        JsonNode root = Json.MAPPER.readTree(a.toFile());
        assertEquals(train, root.get("train").size());
        assertEquals(val, root.get("val").isNull() ? 0 : root.get("val").size());
        for (String part : List.of("train", "val")) {
            for (JsonNode row : root.get(part)) {
                assertEquals(2, row.size());
                assertTrue(row.get(0).asDouble() < 0 && row.get(1).asDouble() < 0, row.toString());
            }
        }
    }

    @Test
    void rewardIsTheSingleProcessRun() throws Exception {
        Path single = train("reward", data.pairs(), "reward-single");
        Path spark = train("reward", data.pairs(), "reward-2", "--spark-master", "local[2]", "--spark-partitions", "2");
        assertSameRun(single, spark, "reward");
    }

    @Test
    void ppoWithARewardAndValueModelAndGrpoWithAGraderAreTheSingleProcessRuns() throws Exception {
        // rollouts are sampled and scored on the executors (a reward model for PPO, a rule grader for GRPO),
        // and their old-policy, reference and value passes run there, in the rollout's runs of records (the
        // weights shared once per iteration for both); each update's mini-batch is cut into shards over them
        for (String estimator : List.of("gae", "grpo")) {
            List<String> reward = estimator.equals("gae") ? List.of("--reward-model", rm.toString())
                    : List.of("--reward-fn", "regex:cat");
            Path single = ppo("ppo-" + estimator + "-single", estimator, reward);
            Path spark = ppo("ppo-" + estimator + "-2", estimator, reward, "--spark-master", "local[2]",
                    "--spark-partitions", "2");
            assertTrue(lastLog.contains("on the executors each iteration: the rollouts, their scores and the"
                    + " old-policy" + (estimator.equals("gae") ? ", reference and value passes" : " and reference passes")),
                    lastLog);
            // the first rollout, sampled from the same weights in two runs of records, is the single process's:
            // its responses byte for byte, a grader's scores too; a reward model's forward over a slice's
            // batch rounds otherwise than over the whole rollout's (measured: 1e-6 relative). Later rollouts
            // read weights equal to 1e-5
            List<JsonNode> a = samples(single, 1);
            List<JsonNode> b = samples(spark, 1);
            assertEquals(8, a.size());
            assertEquals(a.size(), b.size());
            for (int i = 0; i < a.size(); i++) {
                for (String same : List.of("prompt", "prompt_tokens", "response", "ended")) {
                    assertEquals(a.get(i).get(same), b.get(i).get(same), estimator + " rollout " + i + " " + same);
                }
                double sa = a.get(i).get("score").asDouble();
                double sb = b.get(i).get("score").asDouble();
                if (estimator.equals("grpo")) {
                    assertEquals(sa, sb, estimator + " rollout " + i + " score");
                } else {
                    assertEquals(sa, sb, 1e-5 * Math.max(1, Math.abs(sa)), estimator + " rollout " + i + " score");
                }
            }
            assertTrue(a.stream().map(x -> x.get("score").asDouble()).distinct().count() > 1,
                    "the responses score differently: " + a);
            // the KL of later iterations (the policy has moved from the reference): the old-policy and the
            // reference passes on the executors, over weights equal to 1e-5, within 1e-5 of the terms' size
            // (log-probabilities of about 1 that cancel)
            List<Double> ka = PpoRunTest.column(single, "objective/kl");
            List<Double> kb = PpoRunTest.column(spark, "objective/kl");
            assertTrue(Math.abs(ka.get(2)) > 1e-6, "the policy moved: KL " + ka);
            for (int i = 0; i < ka.size(); i++) {
                assertEquals(ka.get(i), kb.get(i), 1e-5, estimator + " KL at "
                        + (i + 1));
            }
            assertTrue(PpoRunTest.column(spark, "time/passes").get(0) > 0);
            assertEquals(PpoRunTest.column(single, "response_length"), PpoRunTest.column(spark, "response_length"));
            assertSameRun(single, spark, "ppo " + estimator, 3, 1.0);
            if (estimator.equals("gae")) {
                List<Double> va = PpoRunTest.column(single, "loss/value_avg");
                List<Double> vb = PpoRunTest.column(spark, "loss/value_avg");
                for (int i = 0; i < va.size(); i++) {
                    assertEquals(va.get(i), vb.get(i), 1e-5 * va.get(i), "value loss at step " + (i + 1));
                }
                // the value model trains data-parallel too
                assertSameWeights(single.resolve("final/value"), spark.resolve("final/value"), "value model");
            }
        }
    }

    static List<JsonNode> samples(Path run, int step) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("samples/step-" + step + ".jsonl"))) {
            out.add(Json.MAPPER.readTree(line));
        }
        return out;
    }

    @Test
    void aCancelledDistributedRunResumesExactly() throws Exception {
        Path whole = train("dpo", data.pairs(), "dpo-whole", "--spark-master", "local[2]");
        Path out = tmp.resolve("dpo-cancelled");
        Files.createDirectories(out);
        new RunDirectory(out).requestCancel(); // seen after the first step: checkpoint, CANCELLED
        String[] first = run("", args("dpo", data.pairs(), out, "--spark-master", "local[2]"));
        assertEquals("0", first[0], first[2]);
        assertEquals(RunDirectory.Status.CANCELLED, new RunDirectory(out).status());
        assertEquals(1, TinyModel.losses(out).size());
        String[] resumed = run("", args("dpo", data.pairs(), out, "--spark-master", "local[2]", "--resume"));
        assertEquals("0", resumed[0], resumed[2]);
        assertEquals(TinyModel.losses(whole), TinyModel.losses(out));
        assertIdenticalWeights(whole, out);
    }
}
