package org.align4j.data.label;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Sessions driven through standard input, as a person would type. */
class LabelSessionTest {

    @TempDir
    Path tmp;

    private Path tasks() throws Exception {
        Path f = tmp.resolve("tasks.jsonl");
        Files.writeString(f, "{\"id\": \"t1\", \"prompt\": \"Say hi\", \"responses\": [\"hi\", \"go away\", \"hello!\"]}\n"
                + "{\"id\": \"t2\", \"prompt\": \"Count to 2\", \"responses\": [\"1 2\", \"2 1\"]}\n"
                + "{\"id\": \"t3\", \"prompt\": \"Be nice\", \"responses\": [\"no\", \"sure\", \"ok\", \"fine\"],"
                + " \"meta\": {\"gold\": [[1], [2, 3], [0]]}}\n");
        return f;
    }

    private String session(Path tasks, Path out, String annotator, String input) throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        new LabelSession(LabelTask.read(tasks), new JudgmentStore(out), annotator, 3,
                new BufferedReader(new StringReader(input)), new PrintStream(buf, true, StandardCharsets.UTF_8), false,
                80).run();
        return buf.toString(StandardCharsets.UTF_8);
    }

    /** The letter each original response got for this annotator. */
    private static char letterOf(String annotator, LabelTask t, int original) {
        return (char) ('A' + LabelSession.displayOrder(3, annotator, t).indexOf(original));
    }

    /** The order in which tasks are shown to this annotator. */
    private static List<LabelTask> shownOrder(List<LabelTask> tasks, String annotator) {
        List<LabelTask> order = new java.util.ArrayList<>(tasks);
        java.util.Collections.shuffle(order, new java.util.Random(3 ^ LabelSession.fnv(annotator)));
        return order;
    }

    @Test
    void rankingsTiesRationaleSkipUndoFlagInvalidQuitAndRestart() throws Exception {
        Path tasksFile = tasks();
        List<LabelTask> all = LabelTask.read(tasksFile);
        List<LabelTask> order = shownOrder(all, "ann");
        Path out = tmp.resolve("judgments.jsonl");
        LabelTask first = order.get(0);
        LabelTask second = order.get(1);
        LabelTask third = order.get(2);
        // first task: ranked best = original 0, rest tied, with rationale
        StringBuilder best = new StringBuilder().append(letterOf("ann", first, 0));
        for (int i = 1; i < first.k(); i++) {
            best.append(i == 1 ? ">" : "=").append(letterOf("ann", first, i));
        }
        String input = String.join("\n",
                "Z>A",                      // unknown letter: explained, same task again
                "A>A",                      // repeated letter
                "A",                        // missing candidates (when k > 1)
                "?",                        // help
                best + " # the first is best",
                "s",                        // skip the second task (comes back at the end)
                "f unsafe",                 // flag the third task
                "u",                        // undo the flag: third task again
                "q") + "\n";
        String shown = session(tasksFile, out, "ann", input);
        assertTrue(shown.contains("unknown letter Z"), shown);
        assertTrue(shown.contains("appears twice"), shown);
        assertTrue(shown.contains("missing"), shown);
        assertTrue(shown.contains("undone: task " + third.id()), shown);
        assertTrue(shown.contains("[1 of 3] task " + first.id()), shown);

        JudgmentStore.Contents c = new JudgmentStore(out).read();
        assertEquals(2, c.judgments().size());
        assertEquals(1, c.retracted().size());
        List<Judgment> effective = c.effective("ann");
        assertEquals(1, effective.size());
        Judgment j = effective.get(0);
        assertEquals(first.id(), j.taskId());
        assertEquals("the first is best", j.rationale());
        // stored against the original indices, whatever the letters were
        assertEquals(0, j.ranking().groups().get(0).get(0));
        assertEquals(first.k() - 1, j.ranking().groups().get(1).size());
        assertEquals(LabelSession.displayOrder(3, "ann", first), j.displayOrder());

        // restart: continues with the tasks not judged, nothing judged twice
        LabelTask a = order.get(1);
        LabelTask b = order.get(2);
        String rest = String.join("\n", rankAll(a, "ann"), rankAll(b, "ann")) + "\n";
        String again = session(tasksFile, out, "ann", rest);
        assertTrue(again.contains("2 of 3 tasks to go"), again);
        assertTrue(again.contains("All 3 tasks judged"), again);
        c = new JudgmentStore(out).read();
        assertEquals(3, c.effective("ann").size());
        assertEquals(3, c.effective("ann").stream().map(Judgment::taskId).distinct().count());
        assertTrue(session(tasksFile, out, "ann", "").contains("has judged all 3"));
        // another annotator in the same file starts from scratch, with other letters
        assertTrue(session(tasksFile, out, "bob", "q\n").contains("3 of 3 tasks to go"));
    }

    private static String rankAll(LabelTask t, String annotator) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < t.k(); i++) {
            sb.append(i == 0 ? "" : ">").append(letterOf(annotator, t, i));
        }
        return sb.toString();
    }

    @Test
    void tasksFileErrorsNameTheLineAndField() throws Exception {
        Path f = tmp.resolve("bad.jsonl");
        Files.writeString(f, "{\"id\": \"a\", \"prompt\": \"p\", \"responses\": [\"x\", \"y\"]}\n"
                + "{\"id\": \"b\", \"prompt\": \"p\", \"responses\": [\"x\"]}\n");
        var e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class, () -> LabelTask.read(f));
        assertTrue(e.getMessage().contains(f + ":2:") && e.getMessage().contains("'responses'"), e.getMessage());
    }

    @Test
    void agreementStatisticsComputedByHand() {
        // two annotators, two tasks of 3 responses (see the class comment of Agreement for the items)
        Ranking a1 = new Ranking(List.of(List.of(0), List.of(1), List.of(2)));
        Ranking b1 = new Ranking(List.of(List.of(0), List.of(2), List.of(1)));
        Ranking a2 = new Ranking(List.of(List.of(1), List.of(0, 2)));
        Ranking b2 = new Ranking(List.of(List.of(1), List.of(0, 2)));
        List<Judgment> js = List.of(j("t1", "a", a1), j("t1", "b", b1), j("t2", "a", a2), j("t2", "b", b2));
        LabelTask t1 = new LabelTask("t1", "p", List.of("x", "y", "z"), null,
                new Ranking(List.of(List.of(0), List.of(1), List.of(2))));
        LabelTask t2 = new LabelTask("t2", "p", List.of("x", "y", "z"), null, null);
        Agreement.Report r = Agreement.compute(js, Map.of("t1", t1, "t2", t2));
        // items: t1 (0,1) B/B, (0,2) B/B, (1,2) B/W; t2 (0,1) W/W, (0,2) T/T, (1,2) B/B -> 5 of 6 agree
        assertEquals(5.0 / 6, r.overallAgreement(), 1e-12);
        // a: B=4 W=1 T=1, b: B=3 W=2 T=1; p_e = (12 + 2 + 1) / 36; kappa = (5/6 - 15/36) / (1 - 15/36) = 15/21
        assertEquals(15.0 / 21, r.pairs().get(0).cohensKappa(), 1e-12);
        // coincidences: BB 6, BW 1, WB 1, WW 2, TT 2; n = 12; alpha = 1 - (2/12) / (2(21+14+6)/132) = 60/82
        assertEquals(60.0 / 82, r.krippendorffAlpha(), 1e-12);
        assertEquals(5.0 / 6, r.agreementWithMajority().get("a"), 1e-12);
        assertEquals(1.0, r.goldAccuracy().get("a"), 1e-12);
        assertEquals(2.0 / 3, r.goldAccuracy().get("b"), 1e-12);
        assertEquals(2, r.tasksWithSeveral());
    }

    @Test
    void exportMajorityPerAnnotatorAndExclusions() throws Exception {
        Path out = tmp.resolve("j.jsonl");
        JudgmentStore store = new JudgmentStore(out);
        Ranking r012 = new Ranking(List.of(List.of(0), List.of(1), List.of(2)));
        Ranking r102 = new Ranking(List.of(List.of(1), List.of(0), List.of(2)));
        store.append("t1", "a", r012, List.of(), "", 1, List.of(0, 1, 2));
        store.append("t1", "b", r012, List.of(), "", 1, List.of(0, 1, 2));
        store.append("t1", "c", r102, List.of(), "", 1, List.of(0, 1, 2));
        store.append("t2", "a", null, List.of("unsafe"), "", 1, List.of(0, 1));
        Judgment oops = store.append("t2", "b", new Ranking(List.of(List.of(0), List.of(1))), List.of(), "", 1,
                List.of(0, 1));
        store.retract(oops);
        Map<String, LabelTask> tasks = Map.of("t1", new LabelTask("t1", "p", List.of("x", "y", "z"), null, null),
                "t2", new LabelTask("t2", "q", List.of("u", "v"), null, null));
        LabelExport.Result maj = LabelExport.export(store.read(), tasks, true, 2);
        assertEquals(1, maj.rankings().size());
        assertEquals(List.of(List.of(0), List.of(1), List.of(2)), maj.rankings().get(0).ranking());
        assertEquals(1, maj.flaggedExcluded());
        assertEquals(1, maj.retractedExcluded());
        LabelExport.Result each = LabelExport.export(store.read(), tasks, false, 1);
        assertEquals(3, each.rankings().size());
    }

    private static Judgment j(String task, String annotator, Ranking r) {
        return new Judgment(task + annotator, task, annotator, r, List.of(), "", 1, "2026-01-01T00:00:00Z",
                List.of(0, 1, 2));
    }
}
