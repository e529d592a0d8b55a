package org.align4j.cli;

import static org.align4j.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.align4j.core.run.Checkpoints;
import org.align4j.core.run.RunDirectory;

/**
 * A run's own location is not one of its settings: a run cancelled at its first step resumes when
 * its directory is spelled another way (relative, with a trailing slash) or after it was moved,
 * and continues exactly as the uninterrupted run.
 */
class ResumeLocationTest {

    @TempDir
    static Path tmp;
    static TinyModel.TextAndPairs data;
    static List<Double> uninterrupted;

    @BeforeAll
    static void uninterruptedRun() throws Exception {
        data = TinyModel.textAndPairs(tmp, 3, 120);
        Path out = tmp.resolve("straight");
        String[] r = run("", sft(out.toString()));
        assertEquals("0", r[0], r[2]);
        uninterrupted = TinyModel.losses(out);
        assertEquals(4, uninterrupted.size());
    }

    private static String[] sft(String out, String... extra) {
        List<String> a = new ArrayList<>(List.of("sft", "--model", data.model().toString(), "--train",
                data.text().toString(), "--out", out, "--max-steps", "4", "--batch-size", "8", "--lr", "3e-3",
                "--save-every", "2", "--seed", "3", "--max-length", "32", "--no-packing"));
        a.addAll(List.of(extra));
        return a.toArray(new String[0]);
    }

    /** A run stopped (with a checkpoint) at its first step. */
    private static Path cancelledAtStepOne(String name) throws Exception {
        Path out = tmp.resolve(name);
        new RunDirectory(out).requestCancel();
        assertEquals("0", run("", sft(out.toString()))[0]);
        assertEquals(RunDirectory.Status.CANCELLED, new RunDirectory(out).status());
        assertTrue(new Checkpoints(new RunDirectory(out)).latest().isPresent());
        return out;
    }

    @Test
    void theSameRunSpelledAnotherWayResumes() throws Exception {
        Path out = cancelledAtStepOne("spelled");
        String relative = Path.of("").toAbsolutePath().relativize(out.toAbsolutePath()) + "/";
        String[] r = run("", sft(relative, "--resume"));
        assertEquals("0", r[0], r[2]);
        assertEquals(uninterrupted, TinyModel.losses(out));
    }

    @Test
    void aMovedRunResumesWhereItIsNow() throws Exception {
        Path out = cancelledAtStepOne("before-move");
        Path moved = Files.createDirectories(tmp.resolve("elsewhere")).resolve("after-move");
        Files.move(out, moved);
        String[] r = run("", sft(moved.toString(), "--resume"));
        assertEquals("0", r[0], r[2]);
        assertEquals(uninterrupted, TinyModel.losses(moved));
        assertEquals(RunDirectory.Status.SUCCEEDED, new RunDirectory(moved).status());
    }

    @Test
    void anotherSettingIsStillRefused() throws Exception {
        Path out = cancelledAtStepOne("other-lr");
        String[] r = run("", sft(out.toString(), "--resume", "--lr", "1e-3"));
        assertEquals("1", r[0], r[2]);
        assertTrue(r[2].contains("lr: "), r[2]);
    }
}
