package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.run.Checkpoints;
import org.align4j.core.run.RunDirectory;
import org.align4j.core.util.Json;
import org.align4j.train.ReferenceCache;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * KTO end to end through the command line on rule-decided thumbs (a completion that mentions
 * "red" is desirable): a policy equal to its reference starts at the formula's value (every
 * example 1 - sigmoid(0) = 1/2 times its weight, KL estimate 0); training learns the rule on
 * held-out examples; a cancelled run resumes, reusing the reference cache, to exactly the
 * uninterrupted losses; bad data is refused with FILE:LINE and the field before any work; TRL's
 * warning for unbalanced weights.
 */
class KtoRunTest {

    @TempDir
    static Path tmp;
    static Path model;
    static Path train;
    static Path val;

    /** A thumbs-up or -down decided by the rule, about half of each. */
    static String ruleThumb(SplittableRandom r) {
        boolean good = r.nextBoolean();
        String s;
        do {
            s = TinyModel.sentence(r);
        } while (s.contains("red") != good);
        return Json.MAPPER.createObjectNode().put("prompt", "the " + TinyModel.WORDS[r.nextInt(4) + 1])
                .put("completion", " " + s).put("label", good).toString();
    }

    static Path writeThumbs(Path file, SplittableRandom r, int n) throws Exception {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append(ruleThumb(r)).append('\n');
        }
        Files.writeString(file, sb);
        return file;
    }

    @BeforeAll
    static void modelAndThumbs() throws Exception {
        SplittableRandom r = new SplittableRandom(11);
        model = TinyModel.create(tmp, TinyModel.corpus(r, 300), "kto-base");
        train = writeThumbs(tmp.resolve("thumbs.jsonl"), r, 160);
        val = writeThumbs(tmp.resolve("thumbs.val.jsonl"), r, 32);
    }

    static String[] ktoArgs(Path out, int steps, String... extra) {
        List<String> a = new ArrayList<>(List.of("kto", "--model", model.toString(), "--train", train.toString(),
                "--val", val.toString(), "--out", out.toString(), "--max-steps", Integer.toString(steps),
                "--batch-size", "8", "--lr", "1e-3", "--beta", "0.5", "--save-every", "10", "--keep-last", "2",
                "--seed", "5", "--eval-every", "20", "--warmup-steps", "3"));
        a.addAll(List.of(extra));
        return a.toArray(new String[0]);
    }

    @Test
    void aPolicyEqualToItsReferenceStartsAtHalfTheWeights() throws Exception {
        assertEquals(0, Align4j.run(ktoArgs(tmp.resolve("start"), 1)));
        JsonNode first = new RunDirectory(tmp.resolve("start")).metrics().get(0);
        assertEquals(0.5, first.get("loss").asDouble(), 1e-5, "1 - sigmoid(0) per example, weights 1: " + first);
        assertEquals(0.0, first.get("kl").asDouble(), 1e-5, "z0 at policy = reference");
        assertEquals(0.0, first.get("rewards/chosen").asDouble(), 1e-5);
        // both weights 2: every example 2 (1 - sigmoid(0)) = 1
        assertEquals(0, Align4j.run(ktoArgs(tmp.resolve("start2"), 1, "--desirable-weight", "2",
                "--undesirable-weight", "2")));
        assertEquals(1.0, new RunDirectory(tmp.resolve("start2")).metrics().get(0).get("loss").asDouble(), 1e-5);
        // APO-zero at r = 0 alike, and it runs no KL sequences
        assertEquals(0, Align4j.run(ktoArgs(tmp.resolve("apo"), 1, "--loss-type", "apo_zero_unpaired")));
        JsonNode apo = new RunDirectory(tmp.resolve("apo")).metrics().get(0);
        assertEquals(0.5, apo.get("loss").asDouble(), 1e-5);
        assertFalse(apo.has("kl"), apo.toString());
    }

    @Test
    void trainsAndACancelledRunResumesExactly() throws Exception {
        Path reference = tmp.resolve("reference");
        assertEquals(0, Align4j.run(ktoArgs(reference, 40)));
        List<JsonNode> rows = new RunDirectory(reference).metrics();
        JsonNode last = rows.get(rows.size() - 1);
        for (String k : List.of("loss", "kl", "rewards/chosen", "rewards/rejected", "rewards/margins", "logps/chosen",
                "logps/rejected", "val_loss", "val_kl", "val_rewards/margins")) {
            assertTrue(last.has(k), "metric " + k + " in " + last);
        }
        assertTrue(last.get("val_rewards/margins").asDouble() > 0, "held-out desirable completions gain: " + last);
        assertTrue(last.get("val_loss").asDouble() < 0.5, "below the starting loss: " + last);

        Path run = tmp.resolve("cancelled");
        Thread t = new Thread(() -> Align4j.run(ktoArgs(run, 40)));
        t.start();
        RunDirectory dir = new RunDirectory(run);
        while (t.isAlive() && dir.metrics().size() < 10) {
            Thread.sleep(5);
        }
        assertEquals(0, Align4j.run("runs", "cancel", run.toString()));
        t.join(120_000);
        assertEquals(RunDirectory.Status.CANCELLED, dir.status());
        assertTrue(new Checkpoints(dir).latest().isPresent());
        assertTrue(dir.metrics().size() < 40, "stopped early, at " + dir.metrics().size());
        assertTrue(Files.isRegularFile(run.resolve(ReferenceCache.FILE)));
        Object[] r = DpoRunTest.captured(() -> Align4j.run(ktoArgs(run, 40, "--resume")));
        assertEquals(0, r[0], (String) r[1]);
        assertTrue(((String) r[1]).contains("reference log-probabilities: reusing"), (String) r[1]);
        assertEquals(TinyModel.losses(reference), TinyModel.losses(run), "exactly the uninterrupted losses");
        assertEquals(RunDirectory.Status.SUCCEEDED, dir.status());
    }

    @Test
    void badDataAndSettingsAreRefusedBeforeAnyWork() throws Exception {
        Path bad = tmp.resolve("bad.jsonl");
        List<String> lines = new ArrayList<>(Files.readAllLines(train).subList(0, 4));
        lines.add("{\"prompt\": \"the cat\", \"completion\": \" a red mat\", \"label\": \"yes\"}");
        lines.add("{\"prompt\": \"the cat\", \"completion\": [{\"role\": \"assistant\", \"content\": \"hi\"}],"
                + " \"label\": true}");
        lines.add("{\"prompt\": [{\"role\": \"user\", \"content\": \"hi\"}], \"completion\": [{\"role\": \"user\","
                + " \"content\": \"a red cat\"}], \"label\": false}");
        Files.write(bad, lines);
        Object[] r = DpoRunTest.captured(() -> Align4j.run("kto", "--model", model.toString(), "--train",
                bad.toString(), "--out", tmp.resolve("bad-run").toString(), "--max-steps", "1"));
        assertEquals(1, r[0]);
        String err = (String) r[1];
        assertTrue(err.contains(bad + ":5: ") && err.contains("field 'label' must be true or false, got a string"
                + " \"yes\""), err);
        assertTrue(err.contains(bad + ":6: ") && err.contains("field 'prompt' must be a list of messages"), err);
        assertTrue(err.contains(bad + ":7: ") && err.contains("'completion' after the prompt must be assistant"
                + " messages, found role 'user'"), err);
        assertFalse(Files.exists(tmp.resolve("bad-run").resolve("metrics.jsonl")), "nothing trained");

        // preference pairs are not thumbs: the message names the kinds
        Path pairs = TinyModel.writeRulePairs(tmp.resolve("pairs.jsonl"), new SplittableRandom(1), 8);
        r = DpoRunTest.captured(() -> Align4j.run("kto", "--model", model.toString(), "--train", pairs.toString(),
                "--out", tmp.resolve("pairs-run").toString(), "--max-steps", "1"));
        assertEquals(1, r[0]);
        assertTrue(((String) r[1]).contains("holds preference records; this command takes [unpaired]"),
                (String) r[1]);

        // the KL estimate needs other examples in the batch
        r = DpoRunTest.captured(() -> Align4j.run(ktoArgs(tmp.resolve("b1"), 1, "--batch-size", "1")));
        assertEquals(1, r[0]);
        assertTrue(((String) r[1]).contains("--batch-size must be at least 2"), (String) r[1]);
        assertFalse(Files.exists(tmp.resolve("b1")));
        assertEquals(1, Align4j.run(ktoArgs(tmp.resolve("beta0"), 1, "--beta", "0")));
        assertEquals(1, Align4j.run(ktoArgs(tmp.resolve("w0"), 1, "--undesirable-weight", "-1")));
    }

    @Test
    void unbalancedWeightsGetTrlsAdvice() throws Exception {
        // keep the desirable examples and 1 in 4 undesirable ones
        Path skewed = tmp.resolve("skewed.jsonl");
        List<String> keep = new ArrayList<>();
        int undesirable = 0;
        for (String l : Files.readAllLines(train)) {
            boolean good = Json.MAPPER.readTree(l).get("label").asBoolean();
            if (good || undesirable++ % 4 == 0) {
                keep.add(l);
            }
        }
        Files.write(skewed, keep);
        Object[] r = DpoRunTest.captured(() -> Align4j.run("kto", "--model", model.toString(), "--train",
                skewed.toString(), "--out", tmp.resolve("skewed-run").toString(), "--max-steps", "1"));
        assertEquals(0, r[0], (String) r[1]);
        assertTrue(((String) r[1]).contains("warning: ") && ((String) r[1]).contains("outside [1, 4/3]"),
                (String) r[1]);
        // the balanced file gets none
        r = DpoRunTest.captured(() -> Align4j.run(ktoArgs(tmp.resolve("balanced"), 1)));
        assertEquals(0, r[0], (String) r[1]);
        assertFalse(((String) r[1]).contains("outside [1, 4/3]"), (String) r[1]);
    }

    @Test
    void pairsAndThumbsBecomeKtoDataThatTrains() throws Exception {
        Path pairs = TinyModel.writeRulePairs(tmp.resolve("to-kto-pairs.jsonl"), new SplittableRandom(2), 12);
        Path thumbs = tmp.resolve("from-pairs.jsonl");
        assertEquals(0, Align4j.run("data", "to-kto", pairs.toString(), "--out", thumbs.toString()));
        List<String> rows = Files.readAllLines(thumbs);
        assertEquals(24, rows.size());
        JsonNode first = Json.MAPPER.readTree(rows.get(0));
        JsonNode pair = Json.MAPPER.readTree(Files.readAllLines(pairs).get(0));
        assertEquals(pair.get("chosen").asText(), first.get("completion").asText());
        assertTrue(first.get("label").asBoolean());
        assertFalse(Json.MAPPER.readTree(rows.get(1)).get("label").asBoolean());
        assertEquals(1, Align4j.run("data", "to-kto", pairs.toString(), "--out", pairs.toString()),
                "the output never replaces its input");
        assertEquals(1, Align4j.run("data", "to-kto", thumbs.toString(), "--out", tmp.resolve("x.jsonl").toString()),
                "thumbs are not pairs or rankings");
        assertEquals(0, Align4j.run("kto", "--model", model.toString(), "--train", thumbs.toString(), "--out",
                tmp.resolve("from-pairs-run").toString(), "--max-steps", "2", "--batch-size", "4"));

        // thumbs from a judgments store, as 'label session --mode binary' writes them
        Path tasks = tmp.resolve("tasks.jsonl");
        Files.writeString(tasks, "{\"id\": \"t1\", \"prompt\": \"the cat\", \"responses\": [\" sat on a red mat\","
                + " \" ran\"]}\n");
        Path judgments = tmp.resolve("judgments.jsonl");
        org.align4j.data.label.JudgmentStore store = new org.align4j.data.label.JudgmentStore(judgments);
        store.appendBinary("t1", "ann", 0, true, List.of(), "", 1);
        store.appendBinary("t1", "ann", 1, false, List.of(), "", 1);
        Path exported = tmp.resolve("exported.jsonl");
        assertEquals(0, Align4j.run("label", "export", "--in", judgments.toString(), "--tasks", tasks.toString(),
                "--to", "kto", "--out", exported.toString()));
        assertEquals(List.of("{\"prompt\":\"the cat\",\"completion\":\" sat on a red mat\",\"label\":true}",
                "{\"prompt\":\"the cat\",\"completion\":\" ran\",\"label\":false}"), Files.readAllLines(exported));
        assertEquals(0, Align4j.run("data", "validate", exported.toString()));
    }
}
