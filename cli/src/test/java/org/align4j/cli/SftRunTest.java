package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.run.Checkpoints;
import org.align4j.core.run.RunDirectory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SFT runs end to end through the command line: resume after SIGKILL reproduces the losses of
 * an uninterrupted run exactly, cancel leaves a resumable run, a diverging loss stops the run.
 */
class SftRunTest {

    @TempDir
    static Path tmp;
    static Path model;
    static Path data;

    @BeforeAll
    static void modelAndData() throws Exception {
        StringBuilder corpus = new StringBuilder();
        StringBuilder jsonl = new StringBuilder();
        java.util.SplittableRandom r = new java.util.SplittableRandom(1);
        for (int i = 0; i < 400; i++) {
            String s = TinyModel.sentence(r);
            corpus.append(s).append(".\n");
            jsonl.append("{\"text\": \"").append(s).append(".\"}\n");
        }
        data = tmp.resolve("train.jsonl");
        Files.writeString(data, jsonl);
        model = TinyModel.create(tmp, corpus.toString(), "model");
    }

    static String[] sftArgs(Path out, int steps, String... extra) {
        List<String> a = new ArrayList<>(List.of("sft", "--model", model.toString(), "--train", data.toString(),
                "--out", out.toString(), "--max-steps", Integer.toString(steps), "--batch-size", "8", "--lr", "3e-3",
                "--save-every", "10", "--keep-last", "3", "--seed", "7", "--max-length", "32", "--no-packing"));
        a.addAll(List.of(extra));
        return a.toArray(new String[0]);
    }

    static List<Double> losses(Path run) throws Exception {
        return TinyModel.losses(run);
    }

    @Test
    void resumeAfterSigkillGivesTheSameLossesAsAnUninterruptedRun() throws Exception {
        Path reference = tmp.resolve("reference");
        assertEquals(0, Align4j.run(sftArgs(reference, 300)));
        List<Double> expected = losses(reference);
        assertEquals(300, expected.size());

        Path killed = tmp.resolve("killed");
        // killed at a checkpoint at step 30 or later (older ones are pruned by --keep-last)
        TinyModel.killAfterCheckpoint(killed, 30, tmp.resolve("killed.log"), sftArgs(killed, 300));
        assertEquals(RunDirectory.Status.RUNNING, new RunDirectory(killed).status(), "killed mid-run");
        assertFalse(Files.isDirectory(killed.resolve("final")));

        assertEquals(0, Align4j.run(sftArgs(killed, 300, "--resume")));
        assertEquals(expected, losses(killed), "exactly the losses of the uninterrupted run");
        assertEquals(RunDirectory.Status.SUCCEEDED, new RunDirectory(killed).status());
        assertTrue(new RunDirectory(killed).events().stream().anyMatch(e -> e.get("message").asText().startsWith("resumed")));
    }

    @Test
    void cancelLeavesAResumableRun() throws Exception {
        Path reference = tmp.resolve("ref-cancel");
        assertEquals(0, Align4j.run(sftArgs(reference, 300)));
        Path run = tmp.resolve("cancelled");
        Thread t = new Thread(() -> Align4j.run(sftArgs(run, 300)));
        t.start();
        RunDirectory dir = new RunDirectory(run);
        while (t.isAlive() && dir.metrics().size() < 25) {
            Thread.sleep(5);
        }
        assertEquals(0, Align4j.run("runs", "cancel", run.toString()));
        t.join(60_000);
        assertEquals(RunDirectory.Status.CANCELLED, dir.status());
        assertTrue(new Checkpoints(dir).latest().isPresent());
        assertFalse(Files.exists(dir.cancelFile()));
        long stoppedAt = dir.metrics().size();
        assertTrue(stoppedAt < 300, "stopped early, at " + stoppedAt);
        assertEquals(1, Align4j.run("runs", "cancel", run.toString()), "not running any more");

        assertEquals(0, Align4j.run(sftArgs(run, 300, "--resume")));
        assertEquals(losses(reference), losses(run));
        assertEquals(RunDirectory.Status.SUCCEEDED, dir.status());
        assertEquals(0, Align4j.run("runs", "show", run.toString()));
        assertEquals(0, Align4j.run("runs", "list", tmp.toString()));
    }

    @Test
    void divergingLossStopsTheRunAndKeepsTheLastCheckpoint() throws Exception {
        Path run = tmp.resolve("diverged");
        int code = Align4j.run(sftArgs(run, 200, "--lr", "1e12", "--warmup-steps", "20", "--max-grad-norm", "0",
                "--save-every", "5"));
        assertEquals(2, code);
        RunDirectory dir = new RunDirectory(run);
        assertEquals(RunDirectory.Status.FAILED, dir.status());
        String message = dir.events().get(dir.events().size() - 1).get("message").asText();
        assertTrue(message.contains("became") && message.contains("Last good checkpoint"), message);
        assertFalse(Files.isDirectory(run.resolve("final")));
    }

    @Test
    void anExistingRunIsNotOverwrittenWithoutResume() throws Exception {
        Path run = tmp.resolve("twice");
        assertEquals(0, Align4j.run(sftArgs(run, 3)));
        assertEquals(1, Align4j.run(sftArgs(run, 3)));
        assertEquals(1, Align4j.run(sftArgs(run, 4, "--resume")), "different settings are refused on resume");
    }

    @Test
    void badTrainingDataIsRefusedWithFileAndLineUnlessSkipped() throws Exception {
        Path bad = tmp.resolve("bad-train.jsonl");
        Files.writeString(bad, Files.readString(data).lines().limit(20).collect(Collectors.joining("\n", "", "\n"))
                + "{\"text\": \"\"}\n{not json\n");
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        java.io.PrintStream old = System.err;
        int code;
        try {
            System.setErr(new java.io.PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8));
            code = Align4j.run("sft", "--model", model.toString(), "--train", bad.toString(), "--out",
                    tmp.resolve("bad-run").toString(), "--max-steps", "2", "--batch-size", "4");
        } finally {
            System.setErr(old);
        }
        String message = err.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(1, code, message);
        assertTrue(message.contains(bad + ":21: empty_text") && message.contains(bad + ":22: not_json"), message);
        assertEquals(0, Align4j.run("sft", "--model", model.toString(), "--train", bad.toString(), "--out",
                tmp.resolve("skip-run").toString(), "--max-steps", "2", "--batch-size", "4", "--skip-bad-records"));
    }
}
