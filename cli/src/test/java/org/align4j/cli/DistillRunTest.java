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
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.run.Checkpoints;
import org.align4j.core.run.RunDirectory;
import org.align4j.core.util.Json;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Distillation end to end through the command line, with the embedded base model as the teacher
 * and EmojiBot's chats as data: a student equal to its teacher starts at divergence 0; a small
 * student initialised with the teacher's tokenizer lowers its divergence to the teacher on
 * held-out chats (against the same student's divergence before training); on-policy distillation
 * (lmbda 1, beta 1) samples every batch; a cancelled run with a mixed lmbda resumes to exactly the
 * uninterrupted losses (same draws, same samples), and so does one killed with SIGKILL; a student with another tokenizer is refused
 * before any work, naming both directories.
 */
class DistillRunTest {

    static final String TEACHER = "../examples/base-model";

    @TempDir
    static Path tmp;
    static Path student;
    static Path train;
    static Path val;

    @BeforeAll
    static void studentAndData() throws Exception {
        student = tmp.resolve("student");
        assertEquals(0, Align4j.run("init", "--tokenizer", TEACHER, "--layers", "1", "--d-model", "32", "--heads", "2",
                "--context", "64", "--seed", "3", "--out", student.toString()));
        train = Path.of("../examples/emojibot/train.jsonl");
        val = tmp.resolve("val.jsonl");
        Files.write(val, Files.readAllLines(Path.of("../examples/emojibot/val.jsonl")).subList(0, 16));
    }

    static String[] args(Path model, Path out, int steps, String... extra) {
        List<String> a = new ArrayList<>(List.of("distill", "--teacher", TEACHER, "--model", model.toString(),
                "--train", train.toString(), "--val", val.toString(), "--out", out.toString(), "--max-steps",
                Integer.toString(steps), "--batch-size", "8", "--lr", "3e-3", "--max-length", "64",
                "--max-new-tokens", "12", "--save-every", "5", "--keep-last", "2", "--seed", "7", "--eval-every",
                Integer.toString(steps), "--warmup-steps", "2"));
        a.addAll(List.of(extra));
        return a.toArray(new String[0]);
    }

    @Test
    void aStudentEqualToItsTeacherStartsAtZero() throws Exception {
        for (String beta : new String[] {"0", "0.5", "1"}) {
            Path run = tmp.resolve("same-" + beta);
            assertEquals(0, Align4j.run(args(Path.of(TEACHER), run, 1, "--lmbda", "0", "--beta", beta)));
            JsonNode first = new RunDirectory(run).metrics().get(0);
            assertEquals(0.0, first.get("loss").asDouble(), 1e-6, "beta " + beta + ": " + first);
            assertEquals(first.get("distill/teacher_logp").asDouble(), first.get("distill/student_logp").asDouble(),
                    1e-3, first.toString());
        }
    }

    /**
     * TRL's reduction with gradient accumulation: the step's divergence summed over all its
     * completion tokens over their number, so 2 x 4 accumulated equals one batch of 8. Eight
     * examples make every step the same whole epoch in both runs; loss and update alike.
     */
    @Test
    void accumulationKeepsTheTokenMean() throws Exception {
        Path eight = tmp.resolve("eight.jsonl");
        Files.write(eight, Files.readAllLines(train).subList(0, 8));
        List<String> whole = new ArrayList<>(List.of(args(student, tmp.resolve("whole"), 2, "--lmbda", "0")));
        whole.set(whole.indexOf(train.toString()), eight.toString());
        List<String> accum = new ArrayList<>(List.of(args(student, tmp.resolve("accum"), 2, "--lmbda", "0",
                "--grad-accum", "2")));
        accum.set(accum.indexOf(train.toString()), eight.toString());
        accum.set(accum.indexOf("--batch-size") + 1, "4");
        assertEquals(0, Align4j.run(whole.toArray(new String[0])));
        assertEquals(0, Align4j.run(accum.toArray(new String[0])));
        List<Double> a = TinyModel.losses(tmp.resolve("whole"));
        List<Double> b = TinyModel.losses(tmp.resolve("accum"));
        assertEquals(a.get(0), b.get(0), 1e-5, "step 1");
        assertEquals(a.get(1), b.get(1), 1e-4, "step 2, after the same update");
    }

    @Test
    void lowersTheDivergenceOnHeldOutData() throws Exception {
        // the untrained student's divergence: one step at a negligible rate
        Path before = tmp.resolve("before");
        assertEquals(0, Align4j.run(args(student, before, 1, "--lmbda", "0", "--beta", "0", "--lr", "1e-12")));
        double start = new RunDirectory(before).metrics().get(0).get("val_loss").asDouble();
        Path run = tmp.resolve("kd");
        assertEquals(0, Align4j.run(args(student, run, 30, "--lmbda", "0", "--beta", "0")));
        List<JsonNode> rows = new RunDirectory(run).metrics();
        JsonNode last = rows.get(rows.size() - 1);
        for (String k : List.of("loss", "distill/student_logp", "distill/teacher_logp", "distill/completion_length",
                "distill/on_policy", "val_loss", "val_distill/student_logp", "val_distill/teacher_logp")) {
            assertTrue(last.has(k), "metric " + k + " in " + last);
        }
        assertEquals(0.0, last.get("distill/on_policy").asDouble(), "lmbda 0: the data's completions only");
        double end = last.get("val_loss").asDouble();
        assertTrue(end < 0.8 * start, "held-out forward KL " + start + " -> " + end);
    }

    /** The chats of {@code from} without their assistant replies: prompt-only records. */
    static Path promptsOf(Path from, Path to, int n) throws Exception {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(from).subList(0, n)) {
            ObjectNode j = (ObjectNode) Json.MAPPER.readTree(line);
            ArrayNode msgs = (ArrayNode) j.get("messages");
            msgs.remove(msgs.size() - 1);
            out.add(j.toString());
        }
        Files.write(to, out);
        return to;
    }

    @Test
    void onPolicyDistillationSamplesEveryBatchFromPromptsOrSftData() throws Exception {
        Path run = tmp.resolve("opd");
        assertEquals(0, Align4j.run(args(student, run, 3, "--lmbda", "1", "--beta", "1")));
        for (JsonNode row : new RunDirectory(run).metrics()) {
            assertEquals(1.0, row.get("distill/on_policy").asDouble(), row.toString());
            assertTrue(row.get("loss").asDouble() > 0, row.toString());
            assertTrue(row.get("distill/completion_length").asDouble() <= 12, row.toString());
        }
        // prompt-only files: training and validation on the student's samples
        Path prompts = promptsOf(train, tmp.resolve("prompts.jsonl"), 40);
        Path valPrompts = promptsOf(val, tmp.resolve("val-prompts.jsonl"), 8);
        List<String> a = new ArrayList<>(List.of(args(student, tmp.resolve("opd-prompts"), 3, "--lmbda", "1", "--beta",
                "1")));
        a.set(a.indexOf(train.toString()), prompts.toString());
        a.set(a.indexOf(val.toString()), valPrompts.toString());
        assertEquals(0, Align4j.run(a.toArray(new String[0])));
        JsonNode last = new RunDirectory(tmp.resolve("opd-prompts")).metrics().get(2);
        assertTrue(last.get("val_loss").asDouble() > 0 && last.get("val_distill/completion_length").asDouble() <= 12,
                last.toString());
        // prompts have no completions for the data's batches
        List<String> b = new ArrayList<>(List.of(args(student, tmp.resolve("prompts-data"), 3, "--lmbda", "0.5")));
        b.set(b.indexOf(train.toString()), prompts.toString());
        Object[] r = DpoRunTest.captured(() -> Align4j.run(b.toArray(new String[0])));
        assertEquals(1, r[0]);
        assertTrue(((String) r[1]).contains(prompts + " holds prompts only") && ((String) r[1]).contains("--lmbda 1"),
                (String) r[1]);
        assertFalse(Files.exists(tmp.resolve("prompts-data")), "nothing created");
        // sequence-level KD: the teacher's samples when the student does not sample
        assertEquals(0, Align4j.run(args(student, tmp.resolve("seqkd"), 2, "--lmbda", "0", "--seq-kd")));
        JsonNode first = new RunDirectory(tmp.resolve("seqkd")).metrics().get(0);
        assertEquals(0.0, first.get("distill/on_policy").asDouble());
        assertTrue(first.get("distill/completion_length").asDouble() <= 12, "teacher samples: " + first);
    }

    @Test
    void aCancelledRunResumesExactly() throws Exception {
        Path reference = tmp.resolve("uninterrupted");
        assertEquals(0, Align4j.run(args(student, reference, 16, "--lmbda", "0.5")));
        List<JsonNode> rows = new RunDirectory(reference).metrics();
        double sampled = rows.stream().mapToDouble(r -> r.get("distill/on_policy").asDouble()).sum();
        assertTrue(sampled > 0 && sampled < rows.size(), "lmbda 0.5 mixes sampled and data batches: " + sampled);

        Path run = tmp.resolve("cancelled");
        Thread t = new Thread(() -> Align4j.run(args(student, run, 16, "--lmbda", "0.5")));
        t.start();
        RunDirectory dir = new RunDirectory(run);
        while (t.isAlive() && dir.metrics().size() < 7) {
            Thread.sleep(5);
        }
        assertEquals(0, Align4j.run("runs", "cancel", run.toString()));
        t.join(120_000);
        assertEquals(RunDirectory.Status.CANCELLED, dir.status());
        assertTrue(new Checkpoints(dir).latest().isPresent());
        assertTrue(dir.metrics().size() < 16, "stopped early, at " + dir.metrics().size());
        Object[] r = DpoRunTest.captured(() -> Align4j.run(args(student, run, 16, "--lmbda", "0.5", "--resume")));
        assertEquals(0, r[0], (String) r[1]);
        assertEquals(TinyModel.losses(reference), TinyModel.losses(run), "exactly the uninterrupted losses");
        assertEquals(RunDirectory.Status.SUCCEEDED, dir.status());

        // killed with SIGKILL in another JVM after its checkpoint at step 5: the same again
        Path killed = tmp.resolve("killed");
        TinyModel.killAfterCheckpoint(killed, 5, tmp.resolve("killed.log"), args(student, killed, 16, "--lmbda",
                "0.5"));
        r = DpoRunTest.captured(() -> Align4j.run(args(student, killed, 16, "--lmbda", "0.5", "--resume")));
        assertEquals(0, r[0], (String) r[1]);
        assertEquals(TinyModel.losses(reference), TinyModel.losses(killed), "exactly the uninterrupted losses");
    }

    @Test
    void anotherTokenizerIsRefusedBeforeAnyWork() throws Exception {
        Path other = TinyModel.create(tmp, TinyModel.corpus(new SplittableRandom(2), 100), "other");
        Path run = tmp.resolve("mismatch");
        Object[] r = DpoRunTest.captured(() -> Align4j.run(args(other, run, 1)));
        assertEquals(1, r[0]);
        String err = (String) r[1];
        assertTrue(err.contains("--teacher " + TEACHER) && err.contains("--model " + other)
                && err.contains("share one tokenizer"), err);
        assertFalse(Files.exists(run), "nothing created");
        // a student reading longer sequences than the teacher can
        Path wide = tmp.resolve("wide-student");
        assertEquals(0, Align4j.run("init", "--tokenizer", TEACHER, "--layers", "1", "--d-model", "32", "--heads", "2",
                "--context", "512", "--out", wide.toString()));
        List<String> w = new ArrayList<>(List.of(args(wide, tmp.resolve("too-long"), 1)));
        w.set(w.indexOf("--max-length") + 1, "0");
        r = DpoRunTest.captured(() -> Align4j.run(w.toArray(new String[0])));
        assertEquals(1, r[0]);
        assertTrue(((String) r[1]).contains("--teacher " + TEACHER + " reads at most 256 tokens"), (String) r[1]);
        assertFalse(Files.exists(tmp.resolve("too-long").resolve("metrics.jsonl")), "nothing trained");
        // no teacher at all
        r = DpoRunTest.captured(() -> Align4j.run("distill", "--model", student.toString(), "--train",
                train.toString(), "--out", tmp.resolve("no-teacher").toString()));
        assertEquals(1, r[0], (String) r[1]);
        assertTrue(((String) r[1]).contains("--teacher is required"), (String) r[1]);
    }
}
