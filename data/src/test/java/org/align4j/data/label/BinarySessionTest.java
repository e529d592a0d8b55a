package org.align4j.data.label;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.align4j.core.util.UserInputException;
import org.align4j.data.format.Content;
import org.align4j.data.format.DataRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Thumbs-up/down sessions driven through standard input, as a person would type, into the same
 * judgments store as ranking sessions; the two kinds of judgment keep out of each other's way;
 * the KTO export of thumbs (per annotator, by majority) and of rankings (top up, bottom down).
 */
class BinarySessionTest {

    @TempDir
    Path tmp;

    private Path tasks() throws Exception {
        Path f = tmp.resolve("tasks.jsonl");
        Files.writeString(f, "{\"id\": \"t1\", \"prompt\": \"Say hi\", \"responses\": [\"hi\", \"go away\", \"hello!\"]}\n"
                + "{\"id\": \"t2\", \"prompt\": \"Count to 2\", \"responses\": [\"1 2\", \"2 1\"]}\n");
        return f;
    }

    private String session(Path tasks, Path out, String annotator, String input) throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        new BinarySession(LabelTask.read(tasks), new JudgmentStore(out), annotator, 3,
                new BufferedReader(new StringReader(input)), new PrintStream(buf, true, StandardCharsets.UTF_8), false,
                80).run();
        return buf.toString(StandardCharsets.UTF_8);
    }

    /** The candidates in the order this annotator sees them, as "task:response". */
    private static List<String> shown(List<LabelTask> tasks, String annotator) {
        List<LabelTask> order = new ArrayList<>(tasks);
        java.util.Collections.shuffle(order, new java.util.Random(3 ^ LabelSession.fnv(annotator)));
        List<String> out = new ArrayList<>();
        for (LabelTask t : order) {
            for (int r : LabelSession.displayOrder(3, annotator, t)) {
                out.add(t.id() + ":" + r);
            }
        }
        return out;
    }

    @Test
    void thumbsSkipUndoFlagInvalidQuitAndRestart() throws Exception {
        Path tasksFile = tasks();
        List<LabelTask> all = LabelTask.read(tasksFile);
        List<String> order = shown(all, "ann");
        assertEquals(5, order.size());
        Path out = tmp.resolve("judgments.jsonl");
        String input = String.join("\n",
                "maybe",              // not an answer: explained, same candidate again
                "+ # friendly",       // 1st up, with a rationale
                "s",                  // skip the 2nd (comes back at the end)
                "-",                  // 3rd down
                "u",                  // undo it: the 3rd again
                "n",                  // 3rd down again
                "f unsafe",           // flag the 4th
                "q") + "\n";
        String text = session(tasksFile, out, "ann", input);
        assertTrue(text.contains("'maybe' is not an answer"), text);
        assertTrue(text.contains("5 of 5 candidates to go"), text);
        assertTrue(text.contains("undone: task"), text);
        JudgmentStore.Contents c = new JudgmentStore(out).read();
        assertEquals(4, c.judgments().size());
        assertEquals(1, c.retracted().size());
        List<Judgment> mine = c.effective("ann");
        assertEquals(3, mine.size());
        assertTrue(mine.stream().allMatch(Judgment::binary));
        assertEquals(order.get(0), mine.get(0).taskId() + ":" + mine.get(0).response());
        assertEquals(Boolean.TRUE, mine.get(0).label());
        assertEquals("friendly", mine.get(0).rationale());
        assertEquals(order.get(2), mine.get(1).taskId() + ":" + mine.get(1).response());
        assertEquals(Boolean.FALSE, mine.get(1).label());
        assertEquals(order.get(3), mine.get(2).taskId() + ":" + mine.get(2).response());
        assertEquals(null, mine.get(2).label());
        assertEquals(List.of("unsafe"), mine.get(2).flags());

        // restart: the skipped 2nd and the 5th, nothing judged twice
        String again = session(tasksFile, out, "ann", "+\n-\n");
        assertTrue(again.contains("2 of 5 candidates to go"), again);
        assertTrue(again.contains("All 5 candidates judged"), again);
        mine = new JudgmentStore(out).read().effective("ann");
        assertEquals(5, mine.stream().map(j -> j.taskId() + ":" + j.response()).distinct().count());
        assertTrue(session(tasksFile, out, "ann", "").contains("has judged all 5"));
        // thumbs do not count as rankings: a ranking session by the same annotator still has both tasks
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        new LabelSession(all, new JudgmentStore(out), "ann", 3, new BufferedReader(new StringReader("q\n")),
                new PrintStream(buf, true, StandardCharsets.UTF_8), false, 80).run();
        assertTrue(buf.toString(StandardCharsets.UTF_8).contains("2 of 2 tasks to go"), buf.toString());
        // and they pass the task-file check, ranking agreement ignores them
        Map<String, LabelTask> map = new LinkedHashMap<>();
        all.forEach(t -> map.put(t.id(), t));
        new JudgmentStore(out).read().checkAgainst(map, tasksFile);
        assertEquals(0, Agreement.compute(new JudgmentStore(out).read().effective(), map).tasksWithSeveral());
    }

    @Test
    void aThumbOnAResponseTheTaskLacksNamesItsLine() throws Exception {
        Path out = tmp.resolve("j.jsonl");
        JudgmentStore store = new JudgmentStore(out);
        store.appendBinary("t2", "a", 0, true, List.of(), "", 1);
        store.appendBinary("t2", "a", 5, true, List.of(), "", 1);
        Map<String, LabelTask> map = Map.of("t2", new LabelTask("t2", "q", List.of("u", "v"), null, null));
        UserInputException e = assertThrows(UserInputException.class, () -> store.read().checkAgainst(map, out));
        assertTrue(e.getMessage().startsWith(out + ":2: field 'response' 5"), e.getMessage());
        Files.writeString(out, Files.readString(out) + "{\"type\": \"judgment\", \"id\": \"x\", \"task_id\": \"t2\","
                + " \"annotator\": \"b\", \"response\": 1, \"label\": \"up\"}\n");
        IOException io = assertThrows(IOException.class, () -> JudgmentStore.readInputs(List.of(out)));
        assertTrue(io.getMessage().contains(out + ":3: field 'label' must be true, false or null"), io.getMessage());
    }

    @Test
    void ktoExportOfThumbsAndRankings() throws Exception {
        Path out = tmp.resolve("j.jsonl");
        JudgmentStore store = new JudgmentStore(out);
        // t1: a ranking 2 > 0 > 1 by "r"; thumbs on t2's responses by a, b, c
        store.append("t1", "r", new Ranking(List.of(List.of(2), List.of(0), List.of(1))), List.of(), "", 1,
                List.of(0, 1, 2));
        store.appendBinary("t2", "a", 0, true, List.of(), "", 1);
        store.appendBinary("t2", "b", 0, true, List.of(), "", 1);
        store.appendBinary("t2", "c", 0, false, List.of(), "", 1);
        store.appendBinary("t2", "a", 1, false, List.of(), "", 1);
        store.appendBinary("t2", "b", 1, true, List.of(), "", 1);
        store.appendBinary("t2", "c", 1, null, List.of("unsafe"), "", 1);
        Judgment oops = store.appendBinary("t2", "d", 1, true, List.of(), "", 1);
        store.retract(oops);
        Map<String, LabelTask> tasks = Map.of("t1", new LabelTask("t1", "p", List.of("x", "y", "z"), null, null),
                "t2", new LabelTask("t2", "q", List.of("u", "v"), null, null));
        Content p = new Content.Text("p");
        Content q = new Content.Text("q");

        LabelExport.KtoResult each = LabelExport.exportKto(store.read(), tasks, false, 1);
        assertEquals(List.of(new DataRecord.Unpaired(p, new Content.Text("z"), true),
                new DataRecord.Unpaired(p, new Content.Text("y"), false),
                new DataRecord.Unpaired(q, new Content.Text("u"), true),
                new DataRecord.Unpaired(q, new Content.Text("u"), true),
                new DataRecord.Unpaired(q, new Content.Text("u"), false),
                new DataRecord.Unpaired(q, new Content.Text("v"), false),
                new DataRecord.Unpaired(q, new Content.Text("v"), true)), each.records());
        assertEquals(2, each.fromRankings());
        assertEquals(5, each.fromThumbs());
        assertEquals(1, each.flaggedExcluded());
        assertEquals(1, each.retractedExcluded());

        // majority: u is up 2 to 1; v is split 1 to 1 (the flag is no vote): none
        LabelExport.KtoResult maj = LabelExport.exportKto(store.read(), tasks, true, 2);
        assertEquals(List.of(new DataRecord.Unpaired(q, new Content.Text("u"), true)), maj.records());
        assertEquals(1, maj.splitVotes());
        // the ranking of t1 has one annotator: below 2, as is nothing else
        assertEquals(1, maj.belowMinAnnotators());
        assertFalse(maj.records().isEmpty());
    }
}
