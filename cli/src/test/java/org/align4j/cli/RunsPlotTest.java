package org.align4j.cli;

import static org.align4j.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** runs plot names a bad metric by FILE:LINE, writes into a directory given as --out, and never shows a temporary file. */
class RunsPlotTest {

    @TempDir
    Path tmp;

    private Path runWithMetrics(String metrics) throws Exception {
        Path run = Files.createDirectories(tmp.resolve("my-run"));
        Files.writeString(run.resolve("config.json"), "{}\n");
        Files.writeString(run.resolve("events.jsonl"), "{\"status\":\"succeeded\",\"message\":\"done\"}\n");
        Files.writeString(run.resolve("metrics.jsonl"), metrics);
        return run;
    }

    @Test
    void nonFiniteMetricsAreNamedByFileAndLineAndLeftOut() throws Exception {
        Path run = runWithMetrics("{\"step\":1,\"loss\":2.0}\n{\"step\":2,\"loss\":NaN}\n"
                + "{\"step\":3,\"loss\":\"Infinity\"}\n{\"step\":4,\"loss\":1.0,\"val_loss\":\"oops\"}\n");
        String[] r = run("", "runs", "plot", run.toString());
        assertEquals("0", r[0], r[2]);
        assertTrue(r[2].contains(run.resolve("metrics.jsonl") + ":2: loss is NaN, not a finite number (and on 1 more"
                + " line(s)); left out of the plot"), r[2]);
        assertTrue(r[2].contains(run.resolve("metrics.jsonl") + ":4: val_loss is \"oops\", not a finite number"), r[2]);
        assertTrue(Files.size(run.resolve("curves.png")) > 0);
    }

    @Test
    void aMalformedLineIsNamedByFileAndLine() throws Exception {
        Path run = runWithMetrics("{\"step\":1,\"loss\":2.0}\n{\"step\":2,\"loss\"\n{\"step\":3,\"loss\":1.0}\n");
        String[] r = run("", "runs", "plot", run.toString());
        assertEquals("1", r[0], r[2]);
        assertTrue(r[2].contains(run.resolve("metrics.jsonl") + ":2: corrupt line"), r[2]);
        assertFalse(r[2].contains("\tat "), r[2]);
    }

    @Test
    void outAsADirectoryWritesIntoItAndNoMessageShowsATemporaryFile() throws Exception {
        Path run = runWithMetrics("{\"step\":1,\"loss\":2.0}\n{\"step\":2,\"loss\":1.5}\n");
        Path plots = Files.createDirectories(tmp.resolve("plots"));
        String[] r = run("", "runs", "plot", run + "/", "--out", plots.toString());
        assertEquals("0", r[0], r[2]);
        Path png = plots.resolve("my-run.png");
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, Arrays.copyOf(Files.readAllBytes(png), 4));
        assertTrue(r[1].contains(png + ": "), r[1]);
        try (var s = Files.list(plots)) {
            assertEquals(1, s.count(), "only the image");
        }
        assertFalse((r[1] + r[2]).contains(".tmp"), r[1] + r[2]);
    }
}
