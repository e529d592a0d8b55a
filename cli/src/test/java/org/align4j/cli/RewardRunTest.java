package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Collectors;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.run.RunDirectory;
import org.align4j.core.util.Json;
import org.align4j.reward.RewardStats;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reward models end to end through the command line, on pairs decided by a rule (the preferred
 * response mentions "red", the other does not): it learns the rule, resumes exactly after
 * SIGKILL, refuses bad data before any work, and `score` gives the rewards logged at evaluation.
 */
class RewardRunTest {

    @TempDir
    static Path tmp;
    static Path model;
    static Path train;
    static Path val;

    static String pair(SplittableRandom r) {
        return TinyModel.rulePair(r);
    }

    @BeforeAll
    static void modelAndPairs() throws Exception {
        SplittableRandom r = new SplittableRandom(2);
        model = TinyModel.create(tmp, TinyModel.corpus(r, 300), "rm-base");
        train = TinyModel.writeRulePairs(tmp.resolve("pairs.jsonl"), r, 160);
        val = TinyModel.writeRulePairs(tmp.resolve("pairs.val.jsonl"), r, 40);
    }

    static String[] rewardArgs(Path out, int steps, String... extra) {
        List<String> a = new ArrayList<>(List.of("reward", "--model", model.toString(), "--train", train.toString(),
                "--val", val.toString(), "--out", out.toString(), "--max-steps", Integer.toString(steps),
                "--batch-size", "8", "--lr", "2e-3", "--save-every", "10", "--keep-last", "2", "--seed", "7",
                "--eval-every", "20", "--warmup-steps", "5"));
        a.addAll(List.of(extra));
        return a.toArray(new String[0]);
    }

    static List<Double> losses(Path run) throws Exception {
        return TinyModel.losses(run);
    }

    @Test
    void learnsTheRuleAndResumesExactlyAfterSigkill() throws Exception {
        Path reference = tmp.resolve("reference");
        assertEquals(0, Align4j.run(rewardArgs(reference, 100)));
        List<JsonNode> rows = new RunDirectory(reference).metrics();
        assertEquals(Math.log(2), rows.get(0).get("loss").asDouble(), 1e-6, "a zero head starts at ln 2");
        JsonNode last = rows.get(rows.size() - 1);
        assertTrue(last.get("val_accuracy").asDouble() >= 0.9, "held-out accuracy " + last);
        for (String k : List.of("accuracy", "rewards/chosen", "rewards/rejected", "rewards/margins", "val_loss",
                "val_rewards/margins", "lr", "grad_norm", "tokens_per_s")) {
            assertTrue(last.has(k), "metric " + k + " in " + last);
        }
        Path fin = reference.resolve("final");
        assertTrue(ModelDirectory.hasScoreHead(fin));
        JsonNode cfg = Json.MAPPER.readTree(fin.resolve("config.json").toFile());
        assertEquals("GPT2ForSequenceClassification", cfg.get("architectures").get(0).asText());
        assertEquals(1, cfg.get("num_labels").asInt());
        RewardStats stats = RewardStats.read(fin);
        assertEquals(320, stats.count());
        assertTrue(stats.std() > 0);
        assertTrue(Files.isRegularFile(reference.resolve("best").resolve(RewardStats.FILE)));

        // score: the same rewards as the final evaluation logged
        Path scored = tmp.resolve("scored.jsonl");
        assertEquals(0, Align4j.run("score", "--model", fin.toString(), "--data", val.toString(), "--out",
                scored.toString(), "--batch-size", "5"));
        double chosen = 0;
        double margin = 0;
        List<String> lines = Files.readAllLines(scored);
        assertEquals(40, lines.size());
        for (String l : lines) {
            JsonNode o = Json.MAPPER.readTree(l);
            assertTrue(o.has("prompt") && o.has("chosen"), "input fields kept");
            chosen += o.get("reward_chosen").asDouble();
            margin += o.get("reward_chosen").asDouble() - o.get("reward_rejected").asDouble();
        }
        assertEquals(last.get("val_rewards/chosen").asDouble(), chosen / 40, 1e-4);
        assertEquals(last.get("val_rewards/margins").asDouble(), margin / 40, 1e-4);

        // active selection: a budget of 2 of 5 prompts, chosen by the trained reward model
        Path prompts = tmp.resolve("prompts.jsonl");
        Files.writeString(prompts, "{\"prompt\": \"the cat\"}\n{\"prompt\": \"the dog\"}\n{\"prompt\": \"a mat\"}\n"
                + "{\"prompt\": \"the log\"}\n{\"prompt\": \"a big\"}\n");
        Path tasks = tmp.resolve("tasks.jsonl");
        assertEquals(0, Align4j.run("label", "prepare", "--model", model.toString(), "--prompts", prompts.toString(),
                "--k", "3", "--max-new-tokens", "8", "--out", tasks.toString(), "--reward-model", fin.toString(),
                "--select", "uncertainty", "--budget", "2"));
        assertEquals(2, Files.readAllLines(tasks).size());
        assertEquals(1, Align4j.run("label", "prepare", "--model", model.toString(), "--prompts", prompts.toString(),
                "--out", tasks.toString(), "--budget", "2"), "uncertainty without a reward model is refused");

        Path killed = tmp.resolve("killed");
        TinyModel.killAfterCheckpoint(killed, 30, tmp.resolve("killed.log"), rewardArgs(killed, 100));
        assertEquals(RunDirectory.Status.RUNNING, new RunDirectory(killed).status(), "killed mid-run");
        assertEquals(0, Align4j.run(rewardArgs(killed, 100, "--resume")));
        assertEquals(losses(reference), losses(killed), "exactly the losses of the uninterrupted run");
        assertEquals(RunDirectory.Status.SUCCEEDED, new RunDirectory(killed).status());
    }

    @Test
    void rankingsWithTiesTrainAndReportRankingMetrics() throws Exception {
        SplittableRandom r = new SplittableRandom(5);
        StringBuilder rankings = new StringBuilder();
        for (int i = 0; i < 30; i++) {
            // two responses with "red" tied at the top, two without tied below
            List<String> responses = new ArrayList<>();
            for (int k = 0; k < 4; k++) {
                JsonNode p = Json.MAPPER.readTree(pair(r));
                responses.add(p.get(k < 2 ? "chosen" : "rejected").asText());
            }
            rankings.append(Json.MAPPER.createObjectNode().put("prompt", "the cat").set("responses",
                    Json.MAPPER.valueToTree(responses)).toString().replace("}", ",\"ranking\":[[0,1],[2,3]]}"))
                    .append('\n');
        }
        Path file = tmp.resolve("rankings.jsonl");
        Files.writeString(file, rankings);
        Path out = tmp.resolve("ranked");
        assertEquals(0, Align4j.run("reward", "--model", model.toString(), "--train", file.toString(), "--val",
                file.toString(), "--out", out.toString(), "--max-steps", "4", "--batch-size", "4"));
        JsonNode last = new RunDirectory(out).metrics().get(3);
        assertTrue(last.has("val_top1_accuracy") && last.has("val_kendall_tau"), last.toString());
    }

    @Test
    void badDataIsRefusedWithFileAndLineBeforeAnyWork() throws Exception {
        Path bad = tmp.resolve("bad-pairs.jsonl");
        Files.writeString(bad, Files.readString(train).lines().limit(5).collect(Collectors.joining("\n", "", "\n"))
                + "{\"prompt\": \"the cat\", \"chosen\": \" a\", \"rejected\": \" a\"}\n{\"text\": \"a\"\n");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream old = System.err;
        int code;
        try {
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            code = Align4j.run("reward", "--model", model.toString(), "--train", bad.toString(), "--out",
                    tmp.resolve("bad-run").toString(), "--max-steps", "2");
        } finally {
            System.setErr(old);
        }
        String message = err.toString(StandardCharsets.UTF_8);
        assertEquals(1, code, message);
        assertTrue(message.contains(bad + ":6: chosen_equals_rejected") && message.contains(bad + ":7: not_json"),
                message);
        assertFalse(Files.isDirectory(tmp.resolve("bad-run").resolve("checkpoints")));
        assertEquals(1, Align4j.run("reward", "--model", model.toString(), "--train", train.toString(), "--out",
                tmp.resolve("bad-opt").toString(), "--batch-size", "0"), "--batch-size 0 is refused");
        assertEquals(1, Align4j.run("reward", "--model", model.toString(), "--train", train.toString(), "--out",
                tmp.resolve("bad-opt2").toString(), "--center-rewards-coefficient", "-1"));
        assertEquals(1, Align4j.run("score", "--model", model.toString(), "--data", val.toString()),
                "an SFT/base model is not a reward model");
    }
}
