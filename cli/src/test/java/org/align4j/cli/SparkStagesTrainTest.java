package org.align4j.cli;

import static org.align4j.cli.CliTest.run;
import static org.align4j.cli.SparkTrainTest.assertIdenticalWeights;
import static org.align4j.cli.SparkTrainTest.assertSameRun;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
 * Data-parallel KTO, distillation and online DPO on an embedded local[2] (one Spark context for the
 * class), each against the single-process run of the same settings, the oracle: losses within 1e-5
 * relative at every step and final weights within 1e-5 at two slices; the single process's weights
 * bit for bit at one slice (every micro-batch accumulated in one replica, the samples drawn as one
 * batch from the same weights and seeds). Three steps of three micro-batches (online DPO: two) each;
 * online DPO, whose step samples, judges and updates, also repeats its distributed run bit for bit.
 */
class SparkStagesTrainTest {

    @TempDir
    static Path tmp;
    static Path model;
    static Path student;
    static Path thumbs;
    static Path completions;
    static Path prompts;

    @BeforeAll
    static void modelsAndData() throws Exception {
        SplittableRandom r = new SplittableRandom(13);
        model = TinyModel.create(tmp, TinyModel.corpus(r, 300), "model");
        // a smaller student with the model's tokenizer, which distillation requires
        student = tmp.resolve("student");
        assertEquals(0, Align4j.run("init", "--tokenizer", model.toString(), "--layers", "1", "--d-model", "32",
                "--heads", "2", "--context", "64", "--seed", "3", "--out", student.toString()));
        thumbs = KtoRunTest.writeThumbs(tmp.resolve("thumbs.jsonl"), r, 40);
        StringBuilder c = new StringBuilder();
        StringBuilder p = new StringBuilder();
        for (int i = 0; i < 40; i++) {
            String prompt = "the " + TinyModel.WORDS[r.nextInt(4) + 1];
            c.append(Json.MAPPER.createObjectNode().put("prompt", prompt).put("completion", " "
                    + TinyModel.sentence(r))).append('\n');
            if (i < 8) {
                p.append(Json.MAPPER.createObjectNode().put("prompt", prompt)).append('\n');
            }
        }
        completions = Files.writeString(tmp.resolve("completions.jsonl"), c);
        prompts = Files.writeString(tmp.resolve("prompts.jsonl"), p);
    }

    /** Runs the command with {@code extra} appended, asserting success; returns the run directory. */
    static Path train(String name, List<String> args, String... extra) {
        Path out = tmp.resolve(name);
        List<String> a = new ArrayList<>(args);
        a.addAll(List.of("--out", out.toString()));
        a.addAll(List.of(extra));
        String[] r = run("", a.toArray(new String[0]));
        assertEquals("0", r[0], r[2]);
        return out;
    }

    /** The single-process run, two slices and one slice of {@code args}, compared. */
    static Path[] compare(String stage, List<String> args) throws Exception {
        Path single = train(stage + "-single", args);
        Path two = train(stage + "-2", args, "--spark-master", "local[2]", "--spark-partitions", "2");
        Path one = train(stage + "-1", args, "--spark-master", "local[2]", "--spark-partitions", "1");
        assertSameRun(single, two, stage + " at 2 slices");
        for (JsonNode row : new RunDirectory(two).metrics()) {
            // the steps ran on the executors: the data-parallel rows say where their time went
            assertTrue(row.get("dp/compute_s").asDouble() > 0, row.toString());
        }
        assertIdenticalWeights(single, one);
        assertEquals(TinyModel.losses(single), TinyModel.losses(one), stage + " at 1 slice");
        return new Path[] {single, two};
    }

    static List<String> common(String stage, Path modelDir, Path train) {
        return List.of(stage, "--model", modelDir.toString(), "--train", train.toString(), "--max-steps", "3",
                "--batch-size", "4", "--grad-accum", "3", "--lr", "3e-3", "--warmup-steps", "0", "--seed", "7",
                "--save-every", "10");
    }

    @Test
    void ktoWithItsCachedReferenceIsTheSingleProcessRun() throws Exception {
        // the KL estimate z0 is each micro-batch's own (its mismatched pairs), and slices hold whole micro-batches
        Path[] runs = compare("kto", common("kto", model, thumbs));
        for (JsonNode row : new RunDirectory(runs[1]).metrics()) {
            assertTrue(row.has("kl"), row.toString());
        }
    }

    @Test
    void distillationWithOnPolicyBatchesIsTheSingleProcessRun() throws Exception {
        List<String> args = new ArrayList<>(common("distill", student, completions));
        args.addAll(List.of("--teacher", model.toString(), "--lmbda", "0.5", "--max-new-tokens", "8"));
        Path[] runs = compare("distill", args);
        // lmbda 0.5 mixes the student's samples and the data's completions: both paths ran
        double onPolicy = 0;
        List<Double> length = new ArrayList<>();
        List<Double> lengthSpark = new ArrayList<>();
        for (JsonNode row : new RunDirectory(runs[0]).metrics()) {
            onPolicy += row.get("distill/on_policy").asDouble();
            length.add(row.get("distill/completion_length").asDouble());
        }
        for (JsonNode row : new RunDirectory(runs[1]).metrics()) {
            lengthSpark.add(row.get("distill/completion_length").asDouble());
        }
        assertTrue(onPolicy > 0 && onPolicy < 3, "sampled and data micro-batches: " + onPolicy);
        // the same samples: their lengths are the single process's
        assertEquals(length, lengthSpark);
    }

    @Test
    void onlineDpoSamplesAndUpdatesAsTheSingleProcess() throws Exception {
        List<String> args = List.of("dpo", "--online", "--model", model.toString(), "--prompts", prompts.toString(),
                "--reward-fn", "regex:cat", "--max-steps", "3", "--batch-size", "2", "--grad-accum", "2",
                "--max-new-tokens", "8", "--temperature", "1", "--lr", "3e-3", "--warmup-steps", "0", "--seed", "3",
                "--save-every", "10", "--sample-every", "1");
        Path[] runs = compare("online", args);
        // the first step's samples, drawn from the same weights in two runs of records, judged on the driver:
        // the single process's pairs, scores and log-probabilities, byte for byte
        assertEquals(Files.readString(runs[0].resolve("samples/step-1.jsonl")),
                Files.readString(runs[1].resolve("samples/step-1.jsonl")));
        List<Double> scores = new ArrayList<>();
        for (JsonNode row : new RunDirectory(runs[0]).metrics()) {
            scores.add(row.get("objective/scores").asDouble());
        }
        List<Double> sparkScores = new ArrayList<>();
        for (JsonNode row : new RunDirectory(runs[1]).metrics()) {
            sparkScores.add(row.get("objective/scores").asDouble());
        }
        assertEquals(scores, sparkScores, "the judge's scores of every step's samples");
        // the same distributed run again: bit-identical weights (the sum follows the micro-batch order)
        Path again = train("online-2b", args, "--spark-master", "local[2]", "--spark-partitions", "2");
        assertIdenticalWeights(runs[1], again);
    }
}
