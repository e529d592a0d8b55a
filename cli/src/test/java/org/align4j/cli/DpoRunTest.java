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
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.run.RunDirectory;
import org.align4j.train.ReferenceCache;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DPO end to end through the command line on rule-decided pairs: a policy equal to its reference
 * starts at ln 2 (sigmoid) and 1/(4 beta^2) (IPO); the reference cache is reused on resume and
 * SIGKILL resume gives the uninterrupted losses; bad data and pairs emptied by truncation are
 * reported with their lines.
 */
class DpoRunTest {

    @TempDir
    static Path tmp;
    static Path model;
    static Path train;
    static Path val;

    @BeforeAll
    static void modelAndPairs() throws Exception {
        SplittableRandom r = new SplittableRandom(3);
        model = TinyModel.create(tmp, TinyModel.corpus(r, 300), "dpo-base");
        train = TinyModel.writeRulePairs(tmp.resolve("pairs.jsonl"), r, 120);
        val = TinyModel.writeRulePairs(tmp.resolve("pairs.val.jsonl"), r, 24);
    }

    static String[] dpoArgs(Path out, int steps, String... extra) {
        List<String> a = new ArrayList<>(List.of("dpo", "--model", model.toString(), "--train", train.toString(),
                "--val", val.toString(), "--out", out.toString(), "--max-steps", Integer.toString(steps),
                "--batch-size", "8", "--lr", "1e-3", "--save-every", "10", "--keep-last", "2", "--seed", "5",
                "--eval-every", "30", "--warmup-steps", "3"));
        a.addAll(List.of(extra));
        return a.toArray(new String[0]);
    }

    /** Runs the command with standard error captured; returns {exit code, what it printed}. */
    static Object[] captured(Callable<Integer> command) throws Exception {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream old = System.err;
        try {
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            return new Object[] {command.call(), err.toString(StandardCharsets.UTF_8)};
        } finally {
            System.setErr(old);
        }
    }

    @Test
    void aPolicyEqualToItsReferenceStartsAtTheLossesConstants() throws Exception {
        assertEquals(0, Align4j.run(dpoArgs(tmp.resolve("sig0"), 1)));
        assertEquals(Math.log(2), new RunDirectory(tmp.resolve("sig0")).metrics().get(0).get("loss").asDouble(), 1e-5);
        assertEquals(0, Align4j.run(dpoArgs(tmp.resolve("ipo0"), 1, "--loss", "ipo", "--beta", "0.5")));
        assertEquals(1.0, new RunDirectory(tmp.resolve("ipo0")).metrics().get(0).get("loss").asDouble(), 1e-4,
                "1/(4 beta^2) at beta 0.5");
        Object[] r = captured(() -> Align4j.run(dpoArgs(tmp.resolve("simpo0"), 1, "--loss", "simpo")));
        assertEquals(0, r[0]);
        assertTrue(((String) r[1]).contains("reference-free"), (String) r[1]);
        assertFalse(Files.exists(tmp.resolve("simpo0").resolve(ReferenceCache.FILE)));
    }

    @Test
    void resumeReusesTheReferenceCacheAndGivesTheUninterruptedLosses() throws Exception {
        Path reference = tmp.resolve("reference");
        assertEquals(0, Align4j.run(dpoArgs(reference, 60)));
        List<JsonNode> rows = new RunDirectory(reference).metrics();
        JsonNode last = rows.get(rows.size() - 1);
        for (String k : List.of("loss", "rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies",
                "logps/chosen", "logps/rejected", "val_loss", "val_rewards/accuracies")) {
            assertTrue(last.has(k), "metric " + k + " in " + last);
        }
        assertTrue(last.get("val_rewards/margins").asDouble() > 0, "the policy prefers held-out chosen responses: "
                + last);
        Path killed = tmp.resolve("killed");
        TinyModel.killAfterCheckpoint(killed, 20, tmp.resolve("killed.log"), dpoArgs(killed, 60));
        assertTrue(Files.isRegularFile(killed.resolve(ReferenceCache.FILE)));
        Object[] r = captured(() -> Align4j.run(dpoArgs(killed, 60, "--resume")));
        assertEquals(0, r[0], (String) r[1]);
        assertTrue(((String) r[1]).contains("reference log-probabilities: reusing"), (String) r[1]);
        assertEquals(TinyModel.losses(reference), TinyModel.losses(killed), "exactly the uninterrupted losses");
    }

    @Test
    void badDataAndPairsEmptiedByTruncationAreReportedWithTheirLines() throws Exception {
        Path bad = tmp.resolve("bad.jsonl");
        List<String> lines = new ArrayList<>(Files.readAllLines(train).subList(0, 4));
        lines.add("{\"prompt\": \"the cat\", \"chosen\": \"\", \"rejected\": \" a mat\"}");
        Files.write(bad, lines);
        Object[] r = captured(() -> Align4j.run("dpo", "--model", model.toString(), "--train", bad.toString(), "--out",
                tmp.resolve("bad-run").toString(), "--max-steps", "1"));
        assertEquals(1, r[0]);
        assertTrue(((String) r[1]).contains(bad + ":5: "), (String) r[1]);
        // a 60-word prompt and right truncation at 32 tokens leave line 3's responses empty
        Path longPrompt = tmp.resolve("long.jsonl");
        List<String> l2 = new ArrayList<>(Files.readAllLines(train).subList(0, 6));
        l2.set(2, l2.get(2).replace("\"prompt\":\"the", "\"prompt\":\"" + "the cat sat on a mat ".repeat(10) + "the"));
        Files.write(longPrompt, l2);
        r = captured(() -> Align4j.run("dpo", "--model", model.toString(), "--train", longPrompt.toString(), "--out",
                tmp.resolve("trunc-run").toString(), "--max-steps", "1", "--max-length", "32", "--truncation", "right"));
        assertEquals(0, r[0], (String) r[1]);
        assertTrue(((String) r[1]).contains("1 pair(s) left out: a response is empty after truncation to 32 tokens,"
                + " at line(s) [3]"), (String) r[1]);
        assertEquals(1, Align4j.run("dpo", "--model", model.toString(), "--train", train.toString(), "--out",
                tmp.resolve("bad-beta").toString(), "--beta", "0"));
        assertEquals(1, Align4j.run("dpo", "--model", model.toString(), "--train", train.toString(), "--out",
                tmp.resolve("bad-ls").toString(), "--loss", "ipo", "--label-smoothing", "0.1"));
    }
}
