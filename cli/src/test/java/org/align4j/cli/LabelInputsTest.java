package org.align4j.cli;

import static org.align4j.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Judgments given as input are what they claim to be: every {@code --in} exists and is a
 * judgments store, and every judgment fits the task it names (known id, as many responses), else
 * one line naming the file (and the judgment's line) and exit code 1, before any output; the
 * pipeline checks its {@code --judgments} the same way before any stage runs.
 */
class LabelInputsTest {

    @TempDir
    Path tmp;

    static String task(String id, int k) {
        StringBuilder r = new StringBuilder();
        for (int i = 0; i < k; i++) {
            r.append(i == 0 ? "" : ", ").append("\"response ").append(i).append('"');
        }
        return "{\"id\": \"" + id + "\", \"prompt\": \"Once upon a time\", \"responses\": [" + r + "]}\n";
    }

    static String judgment(String id, String task, String ranking, String order) {
        return "{\"type\": \"judgment\", \"id\": \"" + id + "\", \"task_id\": \"" + task + "\", \"annotator\": \"ann\","
                + " \"ranking\": " + ranking + ", \"flags\": [], \"rationale\": \"\", \"seconds\": 1.0,"
                + " \"created_at\": \"2026-01-01T00:00:00Z\", \"display_order\": " + order + "}\n";
    }

    private Path write(String name, String text) throws Exception {
        Path p = tmp.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    private String[] export(Path out, String to, String... in) {
        List<String> args = new ArrayList<>(List.of("label", "export", "--in"));
        args.addAll(List.of(in));
        args.addAll(List.of("--tasks", tmp.resolve("tasks.jsonl").toString(), "--to", to, "--out", out.toString()));
        return run("", args.toArray(new String[0]));
    }

    @Test
    void everyInputMustExistAndBeAJudgmentsStore() throws Exception {
        write("tasks.jsonl", task("t1", 2) + task("t2", 2));
        Path good = write("good.jsonl", judgment("j1", "t1", "[[1], [0]]", "[0, 1]"));
        Path out = tmp.resolve("out.jsonl");
        Path typo = tmp.resolve("typo.jsonl");
        String[] r = export(out, "rankings", typo.toString());
        assertEquals("1", r[0], r[2]);
        assertEquals("align4j: " + typo + ": no such file", r[2].trim());
        r = export(out, "rankings", good.toString(), typo.toString());
        assertEquals("1", r[0], r[2]);
        assertEquals("align4j: " + typo + ": no such file", r[2].trim());
        Path pairs = write("pairs.jsonl", "{\"prompt\": \"q\", \"chosen\": \"a\", \"rejected\": \"b\"}\n");
        r = export(out, "pairs", good.toString(), pairs.toString());
        assertEquals("1", r[0], r[2]);
        assertTrue(r[2].startsWith("align4j: " + pairs + ":1: not a judgment"), r[2]);
        Path empty = write("empty.jsonl", "");
        r = export(out, "pairs", empty.toString());
        assertEquals("1", r[0], r[2]);
        assertTrue(r[2].startsWith("align4j: " + empty + ": holds no judgments"), r[2]);
        assertFalse(Files.exists(out), "no output");
        r = run("", "label", "stats", "--in", typo.toString());
        assertEquals("1", r[0], r[2]);
        assertEquals("align4j: " + typo + ": no such file", r[2].trim());
        r = run("", "label", "agreement", "--in", good.toString(), typo.toString());
        assertEquals("1", r[0], r[2]);

        r = export(out, "pairs", good.toString());
        assertEquals("0", r[0], r[2]);
        assertEquals(1, Files.readAllLines(out).size());
    }

    @Test
    void everyJudgmentMustFitItsTask() throws Exception {
        Path tasks = write("tasks.jsonl", task("t1", 2) + task("t2", 2));
        Path k3 = write("k3.jsonl", judgment("j1", "t1", "[[1], [0]]", "[0, 1]")
                + judgment("j2", "t2", "[[2], [0], [1]]", "[2, 0, 1]"));
        Path out = tmp.resolve("out.jsonl");
        for (String to : new String[] {"rankings", "pairs"}) {
            String[] r = export(out, to, k3.toString());
            assertEquals("1", r[0], r[2]);
            assertEquals("align4j: " + k3 + ":2: ranks 3 responses, but task 't2' in " + tasks + " has 2 (judgments"
                    + " of another task file?)", r[2].trim());
            assertFalse(Files.exists(out), "no output");
        }
        Path order = write("order.jsonl", judgment("j1", "t1", "[[1], [0]]", "[1, 1]"));
        String[] o = export(out, "pairs", order.toString());
        assertEquals("1", o[0], o[2]);
        assertEquals("align4j: " + order + ":1: field 'display_order' [1, 1] is not a permutation of the task's"
                + " responses 0..1", o[2].trim());
        Path unknown = write("unknown.jsonl", judgment("j1", "t9", "[[1], [0]]", "[0, 1]"));
        String[] r = export(out, "pairs", unknown.toString());
        assertEquals("1", r[0], r[2]);
        assertEquals("align4j: " + unknown + ":1: task_id 't9' is not in " + tasks + " (judgments of another task"
                + " file?)", r[2].trim());
        assertFalse(Files.exists(out), "no output");
    }

    @Test
    void thePipelineChecksItsJudgmentsBeforeAnyStage() throws Exception {
        Path tasks = write("tasks.jsonl", task("t1", 2) + task("t2", 2));
        Path k3 = write("k3.jsonl", judgment("j1", "t1", "[[1], [0]]", "[0, 1]")
                + judgment("j2", "t2", "[[2], [0], [1]]", "[2, 0, 1]"));
        Path config = write("p.json", PipelineCommandTest.TINY);
        Path out = tmp.resolve("never");
        String[] r = run("", "pipeline", "--config", config.toString(), "--tasks", tasks.toString(), "--judgments",
                k3.toString(), "--out", out.toString());
        assertEquals("1", r[0], r[2]);
        assertTrue(r[2].contains(k3 + ":2: ranks 3 responses, but task 't2' in " + tasks + " has 2"), r[2]);
        assertFalse(r[2].contains("[1/"), "no stage ran: " + r[2]);
        assertFalse(Files.exists(out), "nothing written");
    }
}
