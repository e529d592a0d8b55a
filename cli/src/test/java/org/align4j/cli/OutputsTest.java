package org.align4j.cli;

import static org.align4j.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * No command's output replaces one of its own inputs, however the path is spelled, nor an existing
 * artifact of another kind without --force; judgments are appended only to a judgments store.
 * Every refusal is one line naming the path and what it is, and leaves every file as it was.
 */
class OutputsTest {

    @TempDir
    static Path tmp;
    static TinyModel.TextAndPairs data;
    static Path run;
    static Path adapter;
    static Path tasks;
    static Path judgments;

    @BeforeAll
    static void modelRunAdapterTasksAndJudgments() throws Exception {
        data = TinyModel.textAndPairs(tmp, 4, 40);
        run = tmp.resolve("lora");
        String[] r = run("", "sft", "--model", data.model().toString(), "--train", data.text().toString(), "--out",
                run.toString(), "--max-steps", "2", "--batch-size", "4", "--max-length", "32", "--lora-r", "2");
        assertEquals("0", r[0], r[2]);
        adapter = run.resolve("final");
        tasks = tmp.resolve("tasks.jsonl");
        Files.writeString(tasks, "{\"id\":\"t1\",\"prompt\":\"the cat\",\"responses\":[\"sat on a mat\",\"ran\"]}\n"
                + "{\"id\":\"t2\",\"prompt\":\"the dog\",\"responses\":[\"big\",\"ran under a log\"]}\n");
        judgments = tmp.resolve("judgments.jsonl");
        r = run("", "label", "simulate", "--tasks", tasks.toString(), "--out", judgments.toString(), "--annotator",
                "sim", "--judge", "length:5");
        assertEquals("0", r[0], r[2]);
    }

    /** Every file under {@code p} (or {@code p} itself) with its bytes. */
    static Map<Path, byte[]> contents(Path p) throws Exception {
        Map<Path, byte[]> m = new LinkedHashMap<>();
        try (Stream<Path> s = Files.walk(p)) {
            for (Path f : s.filter(Files::isRegularFile).sorted().toList()) {
                m.put(f, Files.readAllBytes(f));
            }
        }
        return m;
    }

    static void assertUnchanged(Map<Path, byte[]> before, Path p) throws Exception {
        Map<Path, byte[]> now = contents(p);
        assertEquals(before.keySet(), now.keySet(), p + ": the same files");
        before.forEach((f, b) -> assertArrayEquals(b, now.get(f), f + " is untouched"));
    }

    /** Exit code 1, one line naming every fragment, no stack trace. */
    static void refused(String[] r, String... fragments) {
        assertEquals("1", r[0], r[1] + r[2]);
        for (String f : fragments) {
            assertTrue(r[2].contains(f), "expected '" + f + "' in: " + r[2]);
        }
        assertTrue(!r[2].contains("\tat ") && !r[2].contains("Exception"), "no stack trace: " + r[2]);
    }

    /** The same path as the working directory's relative spelling. */
    static String relative(Path p) {
        return Path.of("").toAbsolutePath().relativize(p.toAbsolutePath()).toString();
    }

    @Test
    void mergeReplacesNeitherTheAdapterNorItsBaseNorAnotherModel() throws Exception {
        Map<Path, byte[]> adapterFiles = contents(adapter);
        Map<Path, byte[]> baseFiles = contents(data.model());
        refused(run("", "merge", "--model", adapter.toString(), "--out", adapter.toString()),
                "--out " + adapter + " is this command's --model");
        refused(run("", "merge", "--model", adapter.toString(), "--out", "./" + relative(adapter) + "/"),
                "is this command's --model");
        Path link = Files.createSymbolicLink(tmp.resolve("adapter-link"), adapter);
        refused(run("", "merge", "--model", adapter.toString(), "--out", link.toString(), "--force"),
                "is this command's --model");
        refused(run("", "merge", "--model", adapter.toString(), "--out", data.model().toString(), "--force"),
                "is this command's base of the adapter");
        refused(run("", "merge", "--model", data.model().toString(), "--adapter", adapter.toString(), "--out",
                data.model() + "/"), "is this command's --model");
        assertUnchanged(adapterFiles, adapter);
        assertUnchanged(baseFiles, data.model());

        Path merged = tmp.resolve("merged");
        String[] r = run("", "merge", "--model", adapter.toString(), "--out", merged.toString());
        assertEquals("0", r[0], r[2]);
        Map<Path, byte[]> mergedFiles = contents(merged);
        refused(run("", "merge", "--model", adapter.toString(), "--out", merged.toString()),
                merged + ": is a model directory; --out would replace it", "--force");
        assertUnchanged(mergedFiles, merged);
        Path otherRun = Files.createDirectories(tmp.resolve("other-run"));
        Files.writeString(otherRun.resolve("events.jsonl"), "{\"status\":\"succeeded\"}\n");
        refused(run("", "merge", "--model", adapter.toString(), "--out", otherRun.toString()), "is a run directory");
        r = run("", "merge", "--model", adapter.toString(), "--out", merged.toString(), "--force");
        assertEquals("0", r[0], r[2]);
    }

    @Test
    void labelOutputsReplaceNeitherTheirInputsNorJudgedTasks() throws Exception {
        Map<Path, byte[]> taskBytes = contents(tasks);
        Map<Path, byte[]> judgmentBytes = contents(judgments);
        refused(run("", "label", "export", "--in", judgments.toString(), "--tasks", tasks.toString(), "--to", "pairs",
                "--out", judgments.toString()), "is this command's --in");
        refused(run("", "label", "export", "--in", judgments.toString(), "--tasks", tasks.toString(), "--to", "pairs",
                "--out", "./" + relative(tasks), "--force"), "is this command's --tasks");
        Path prompts = tmp.resolve("prompts.jsonl");
        Files.writeString(prompts, "{\"prompt\":\"the cat\"}\n");
        refused(run("", "label", "prepare", "--model", data.model().toString(), "--prompts", prompts.toString(),
                "--k", "2", "--out", tasks.toString()), tasks + ": is a label task file", "--force");
        refused(run("", "label", "prepare", "--model", data.model().toString(), "--prompts", prompts.toString(),
                "--k", "2", "--out", judgments.toString()), judgments + ": is a judgments store");
        Map<Path, byte[]> pairBytes = contents(data.pairs());
        refused(run("", "label", "simulate", "--tasks", tasks.toString(), "--out", data.pairs().toString(),
                "--annotator", "sim2", "--judge", "length:5"),
                data.pairs() + ": is a JSONL data file, not a judgments store");
        refused(run("A>B\n", "label", "session", "--tasks", tasks.toString(), "--out", data.pairs().toString(),
                "--annotator", "kim"), "not a judgments store");
        refused(run("", "label", "simulate", "--tasks", tasks.toString(), "--out", tasks.toString(),
                "--annotator", "sim2"), "is this command's --tasks");
        assertUnchanged(taskBytes, tasks);
        assertUnchanged(judgmentBytes, judgments);
        assertUnchanged(pairBytes, data.pairs());

        // what each command writes itself may be written again: a second annotator, a new export
        String[] r = run("", "label", "simulate", "--tasks", tasks.toString(), "--out", judgments.toString(),
                "--annotator", "sim2", "--judge", "length:5");
        assertEquals("0", r[0], r[2]);
        Path exported = tmp.resolve("exported.jsonl");
        for (int i = 0; i < 2; i++) {
            r = run("", "label", "export", "--in", judgments.toString(), "--tasks", tasks.toString(), "--to", "pairs",
                    "--out", exported.toString());
            assertEquals("0", r[0], r[2]);
        }
        r = run("", "label", "prepare", "--model", data.model().toString(), "--prompts", prompts.toString(), "--k",
                "2", "--max-new-tokens", "4", "--out", tasks.toString(), "--force");
        assertEquals("0", r[0], r[2]);
    }

    @Test
    void plotsAndComparisonsNeverLandOnARunsFiles() throws Exception {
        Map<Path, byte[]> runFiles = contents(run);
        refused(run("", "runs", "plot", run.toString(), "--out", run.resolve("metrics.jsonl").toString()),
                "is this command's the run's metrics");
        refused(run("", "runs", "plot", run.toString(), "--out", run.resolve("metrics.jsonl").toString(), "--force"),
                "is this command's the run's metrics");
        refused(run("", "runs", "plot", run.toString(), "--out", adapter.toString()),
                adapter + ": is a LoRA adapter directory");
        Path prompts = tmp.resolve("compare-prompts.jsonl");
        Files.writeString(prompts, "{\"prompt\":\"the cat\"}\n");
        String[] compare = {"compare", "--reference", data.model().toString(), "--policy",
                "metrics=" + data.model(), "--prompts", prompts.toString(), "--judge", "length:5",
                "--max-new-tokens", "4", "--out", run.toString()};
        refused(run("", compare), run + ": is a run directory; --out would replace it", "--force");
        String[] forced = java.util.Arrays.copyOf(compare, compare.length + 1);
        forced[compare.length] = "--force";
        refused(run("", forced), run.resolve("metrics.jsonl") + ": is a run's metrics.jsonl; --policy name would"
                + " replace it");
        assertUnchanged(runFiles, run);
    }

    @Test
    void dataScoreTokenizerInitAndTrainingOutputs() throws Exception {
        Map<Path, byte[]> pairBytes = contents(data.pairs());
        Map<Path, byte[]> modelFiles = contents(data.model());
        refused(run("", "data", "convert", data.pairs().toString(), "--to", "preference", "--out",
                "./" + relative(data.pairs())), "is this command's FILE");
        refused(run("", "data", "to-pairs", data.pairs().toString(), "--out", judgments.toString()),
                "is a judgments store");
        refused(run("", "score", "--model", data.model().toString(), "--data", data.pairs().toString(), "--out",
                data.pairs().toString()), "is this command's --data");
        refused(run("", "tokenizer", "train", "--input", data.text().toString(), "--vocab-size", "300", "--out",
                data.model().toString()), "is a model directory", "--force");
        refused(run("", "init", "--tokenizer", data.model().toString(), "--layers", "1", "--d-model", "32",
                "--heads", "2", "--context", "16", "--out", adapter.toString()), "is a LoRA adapter directory",
                "--force");
        refused(run("", "sft", "--model", data.model().toString(), "--train", data.text().toString(), "--out",
                data.model() + "/."), "is this command's --model");
        refused(run("", "sft", "--model", data.model().toString(), "--train", data.text().toString(), "--out",
                tmp.toString()), tmp + ": is a directory holding other files");
        refused(run("", "dpo", "--model", data.model().toString(), "--train", data.pairs().toString(), "--out",
                tasks.toString()), tasks + ": is a label task file");
        Path config = tmp.resolve("tiny-pipeline.json");
        Files.writeString(config, PipelineCommandTest.TINY);
        refused(run("", "pipeline", "--config", config.toString(), "--out", data.model().toString()),
                data.model() + ": is a model directory, not a pipeline directory");
        refused(run("", "pipeline", "--config", config.toString(), "--tasks", tasks.toString(), "--judgments",
                judgments.toString(), "--out", judgments.toString()), "is this command's --judgments");
        assertUnchanged(pairBytes, data.pairs());
        assertUnchanged(modelFiles, data.model());
    }
}
