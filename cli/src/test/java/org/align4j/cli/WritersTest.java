package org.align4j.cli;

import static org.align4j.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.align4j.core.run.Checkpoints;
import org.align4j.core.run.RunDirectory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One writer at a time: a run directory, a labeling store (per annotator) and a pipeline directory
 * are held by an OS lock while a process writes them; a second process is refused with the
 * holder's PID, and the lock file a SIGKILLed holder leaves behind never blocks --resume.
 */
class WritersTest {

    @TempDir
    static Path tmp;
    static TinyModel.TextAndPairs data;

    @BeforeAll
    static void tinyModel() throws Exception {
        data = TinyModel.textAndPairs(tmp, 5, 200);
    }

    /** Starts align4j (or another main class of the test classpath) as its own JVM, its output in {@code log}. */
    static Process start(Path log, String mainClass, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), mainClass));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /** Waits until {@code file} holds {@code text}, while {@code p} runs. */
    static void awaitContent(Process p, Path file, String text, Path log) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!(Files.exists(file) && Files.readString(file).contains(text))) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                throw new AssertionError(file + " never held '" + text + "': " + Files.readString(log));
            }
            Thread.sleep(5);
        }
    }

    private static String[] sft(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("sft", "--model", data.model().toString(), "--train",
                data.text().toString(), "--out", out.toString(), "--max-steps", "400", "--batch-size", "4",
                "--max-length", "32", "--no-packing", "--save-every", "10", "--keep-last", "2", "--seed", "3"));
        a.addAll(List.of(extra));
        return a.toArray(new String[0]);
    }

    @Test
    void aSecondRunIntoOneDirectoryIsRefusedAndAKilledHolderNeverBlocksResume() throws Exception {
        Path out = tmp.resolve("run");
        Path log = tmp.resolve("run.log");
        Process first = start(log, Align4j.class.getName(), sft(out));
        Checkpoints checkpoints = new Checkpoints(new RunDirectory(out));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (checkpoints.latest().isEmpty()) {
            if (!first.isAlive() || System.nanoTime() > deadline) {
                throw new AssertionError("no checkpoint: " + Files.readString(log));
            }
            Thread.sleep(5);
        }
        // the second writer would pass "already holds a run" with --resume; the lock refuses it
        String[] second = run("", sft(out, "--resume"));
        assertTrue(first.isAlive(), "the first run was still training: " + Files.readString(log));
        assertEquals("1", second[0], second[2]);
        assertTrue(second[2].contains("run directory " + out + " is in use by another align4j writer (PID "
                + first.pid() + ")"), second[2]);
        first.destroyForcibly(); // SIGKILL: the OS drops the lock, the file with the dead PID stays
        first.waitFor();
        assertEquals(Long.toString(first.pid()), Files.readString(out.resolve(".lock")).trim());
        assertEquals(RunDirectory.Status.RUNNING, new RunDirectory(out).status(), "killed mid-run");
        String[] resumed = run("", sft(out, "--resume"));
        assertEquals("0", resumed[0], resumed[2]);
        assertEquals(RunDirectory.Status.SUCCEEDED, new RunDirectory(out).status());
        assertEquals(400, TinyModel.losses(out).size(), "every step logged once");
    }

    @Test
    void aLabelingStoreTakesOneWriterPerAnnotator() throws Exception {
        Path tasks = tmp.resolve("tasks.jsonl");
        Files.writeString(tasks, "{\"id\":\"t1\",\"prompt\":\"the cat\",\"responses\":[\"sat\",\"ran away\"]}\n");
        Path store = tmp.resolve("judgments.jsonl");
        Path log = tmp.resolve("session.log");
        Process session = start(log, Align4j.class.getName(), "label", "session", "--tasks", tasks.toString(),
                "--out", store.toString(), "--annotator", "kim");
        try {
            awaitContent(session, tmp.resolve(".judgments.jsonl.kim.lock"), Long.toString(session.pid()), log);
            String[] same = run("", "label", "simulate", "--tasks", tasks.toString(), "--out", store.toString(),
                    "--annotator", "kim", "--judge", "length:5");
            assertEquals("1", same[0], same[2]);
            assertTrue(same[2].contains("judgments store " + store + " (annotator kim) is in use by another align4j"
                    + " writer (PID " + session.pid() + ")"), same[2]);
            // another annotator shares the store, as people labeling together do
            String[] other = run("", "label", "simulate", "--tasks", tasks.toString(), "--out", store.toString(),
                    "--annotator", "sim", "--judge", "length:5");
            assertEquals("0", other[0], other[2]);
        } finally {
            session.getOutputStream().close(); // end of input: the session ends
            assertTrue(session.waitFor(60, TimeUnit.SECONDS));
        }
        assertTrue(Files.readString(store).contains("\"annotator\":\"sim\""));
        assertFalse(Files.readString(store).contains("\"annotator\":\"kim\""), "the refused writer wrote nothing");
    }

    @Test
    void aPipelineDirectoryTakesOneWriter() throws Exception {
        Path out = tmp.resolve("pipeline");
        Path log = tmp.resolve("hold.log");
        Process holder = start(log, "org.align4j.cli.HoldLock", out.toString());
        try {
            awaitContent(holder, out.resolve(".lock"), Long.toString(holder.pid()), log);
            Path config = tmp.resolve("pipeline.json");
            Files.writeString(config, PipelineCommandTest.TINY);
            String[] r = run("", "pipeline", "--config", config.toString(), "--out", out.toString());
            assertEquals("1", r[0], r[2]);
            assertTrue(r[2].contains("pipeline directory " + out + " is in use by another align4j writer (PID "
                    + holder.pid() + ")"), r[2]);
            assertFalse(Files.exists(out.resolve("pipeline.json")), "nothing written");
        } finally {
            holder.getOutputStream().close();
            assertTrue(holder.waitFor(60, TimeUnit.SECONDS));
        }
    }
}
