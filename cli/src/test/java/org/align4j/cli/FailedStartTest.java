package org.align4j.cli;

import static org.align4j.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A training run that fails before its first step (bad data, a bad model directory) leaves nothing
 * it created behind, so the same --out starts again without --resume; what it found there stays.
 */
class FailedStartTest {

    @TempDir
    static Path tmp;
    static TinyModel.TextAndPairs data;

    @BeforeAll
    static void tinyModel() throws Exception {
        data = TinyModel.textAndPairs(tmp, 6, 30);
    }

    private static String[] sft(Path model, Path train, Path out) {
        return new String[] {"sft", "--model", model.toString(), "--train", train.toString(), "--out", out.toString(),
                "--max-steps", "2", "--batch-size", "4", "--max-length", "32"};
    }

    @Test
    void aFailedStartLeavesNoRunDirectoryAndTheSameOutStartsAfresh() throws Exception {
        Path bad = tmp.resolve("bad.jsonl");
        Files.writeString(bad, "{\"text\": \"the cat\"}\n{\"txet\": 3}\n");
        Path out = tmp.resolve("runs/new/x");
        String[] r = run("", sft(data.model(), bad, out));
        assertEquals("1", r[0], r[2]);
        assertTrue(r[2].contains(bad + ":2"), r[2]);
        assertFalse(Files.exists(tmp.resolve("runs")), "the directories the run created are gone");

        Path notAModel = Files.createDirectories(tmp.resolve("not-a-model"));
        r = run("", sft(notAModel, data.text(), out));
        assertEquals("1", r[0], r[2]);
        assertFalse(Files.exists(tmp.resolve("runs")));

        r = run("", sft(data.model(), data.text(), out));
        assertEquals("0", r[0], "the same --out starts without --resume: " + r[2]);
    }

    @Test
    void whatTheRunFoundThereStays() throws Exception {
        Path out = Files.createDirectories(tmp.resolve("mine"));
        Path bad = tmp.resolve("bad2.jsonl");
        Files.writeString(bad, "not json\n");
        String[] r = run("", sft(data.model(), bad, out));
        assertEquals("1", r[0], r[2]);
        assertTrue(Files.isDirectory(out), "a directory the user made is kept");
        try (Stream<Path> s = Files.list(out)) {
            List<String> left = s.map(p -> p.getFileName().toString()).toList();
            assertTrue(left.stream().allMatch(".lock"::equals), "nothing of the failed run is left: " + left);
        }
        r = run("", sft(data.model(), data.text(), out));
        assertEquals("0", r[0], r[2]);
    }
}
