package org.align4j.data.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.data.format.Content;
import org.align4j.data.format.DataException;
import org.align4j.data.format.DataRecord;
import org.align4j.data.format.Dataset;
import org.align4j.data.format.RecordKind;
import org.align4j.data.jsonl.JsonlWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PrepareTest {

    @TempDir
    Path tmp;

    @Test
    void rankingExpandsIntoAllOrderedPairsWithoutTies() {
        // full ranking of 4: C(4,2) = 6 pairs; [[2],[0,3],[1]]: 6 - C(2,2) = 5 pairs
        DataRecord.Ranking full = new DataRecord.Ranking("q", List.of("a", "b", "c", "d"),
                List.of(List.of(2), List.of(0), List.of(3), List.of(1)));
        assertEquals(6, RankingPairs.expand(full).size());
        assertEquals(6, RankingPairs.count(full));
        DataRecord.Ranking tied = new DataRecord.Ranking("q", List.of("a", "b", "c", "d"),
                List.of(List.of(2), List.of(0, 3), List.of(1)));
        List<DataRecord.Preference> pairs = RankingPairs.expand(tied);
        assertEquals(5, pairs.size());
        assertEquals(5, RankingPairs.count(tied));
        Set<String> got = pairs.stream().map(p -> ((Content.Text) p.chosen()).text() + ">"
                + ((Content.Text) p.rejected()).text()).collect(Collectors.toSet());
        assertEquals(Set.of("c>a", "c>d", "c>b", "a>b", "d>b"), got);
        // all tied: no pairs
        assertEquals(0, RankingPairs.count(new DataRecord.Ranking("q", List.of("a", "b"), List.of(List.of(0, 1)))));
    }

    @Test
    void hhRlhfBecomesExplicitPromptsCutAtTheLastAssistantTurn() {
        String prompt = "\n\nHuman: What is 2+2?\n\nAssistant: Four.\n\nHuman: And 3+3?\n\nAssistant:";
        DataRecord.Preference p = HhRlhf.toExplicit(prompt + " It is six.", prompt + " It is seven.");
        assertEquals(prompt, ((Content.Text) p.prompt()).text());
        assertEquals(" It is six.", ((Content.Text) p.chosen()).text());
        assertEquals(" It is seven.", ((Content.Text) p.rejected()).text());
        assertThrows(IllegalArgumentException.class, () -> HhRlhf.toExplicit("no turns", "no turns here"));
    }

    @Test
    void csvTsvJsonAndJsonlConvertAndRoundTrip() throws Exception {
        Path csv = tmp.resolve("in.csv");
        Files.writeString(csv, "title,stars\n\"Great, really\",5\n\"He said \"\"meh\"\"\nover two lines\",2\n");
        DataConvert.Mapping m = new DataConvert.Mapping(RecordKind.COMPLETION, "title", "stars", null, null, null, null,
                false);
        List<JsonNode> rows = DataConvert.convert(csv, null, m);
        assertEquals(2, rows.size());
        assertEquals("He said \"meh\"\nover two lines", rows.get(1).get("prompt").asText());
        assertEquals("2", rows.get(1).get("completion").asText());
        // written as JSONL and read back by the training reader: same records
        Path out = tmp.resolve("out.jsonl");
        JsonlWriter.write(out, rows);
        Dataset d = Dataset.read(out, null, false);
        assertEquals(RecordKind.COMPLETION, d.kind());
        assertEquals(new DataRecord.Completion("Great, really", "5"), d.records().get(0));
        // converting our own output again is the identity
        assertEquals(rows, DataConvert.convert(out, null, new DataConvert.Mapping(RecordKind.COMPLETION, null, null,
                null, null, null, null, false)));

        Path tsv = tmp.resolve("in.tsv");
        Files.writeString(tsv, "q\ta\nhello\tworld\n");
        List<JsonNode> chat = DataConvert.convert(tsv, null, new DataConvert.Mapping(RecordKind.CHAT, "q", "a", null,
                null, null, "Be brief.", false));
        assertEquals("system", chat.get(0).get("messages").get(0).get("role").asText());
        assertEquals("world", chat.get(0).get("messages").get(2).get("content").asText());

        Path json = tmp.resolve("in.json");
        Files.writeString(json, "[{\"body\": \"x\"}, {\"body\": \"y\"}]");
        assertEquals(2, DataConvert.convert(json, null, new DataConvert.Mapping(RecordKind.TEXT, null, null, "body",
                null, null, null, false)).size());

        Path bad = tmp.resolve("bad.csv");
        Files.writeString(bad, "title,stars\nok,5\nmissing-a-field\n");
        var e = assertThrows(java.io.IOException.class, () -> DataConvert.convert(bad, null, m));
        assertTrue(e.getMessage().contains(bad + ":3:"), e.getMessage());
    }

    @Test
    void hhRlhfConversionOfAFile() throws Exception {
        Path hh = tmp.resolve("hh.jsonl");
        String p = "\n\nHuman: hi\n\nAssistant:";
        Files.writeString(hh, "{\"chosen\": \"" + p.replace("\n", "\\n") + " hello\", \"rejected\": \""
                + p.replace("\n", "\\n") + " go away\"}\n");
        List<JsonNode> rows = DataConvert.convert(hh, null, new DataConvert.Mapping(RecordKind.PREFERENCE, null, null,
                null, null, null, null, true));
        assertEquals(p, rows.get(0).get("prompt").asText());
        assertEquals(" hello", rows.get(0).get("chosen").asText());
    }

    @Test
    void rankingsFileToPairs() throws Exception {
        Path f = tmp.resolve("r.jsonl");
        Files.writeString(f, "{\"prompt\": \"q\", \"responses\": [\"a\", \"b\", \"c\"], \"ranking\": [[0], [1], [2]]}\n"
                + "{\"prompt\": \"p\", \"responses\": [\"a\", \"b\"], \"ranking\": [[0, 1]]}\n");
        assertEquals(3, DataConvert.rankingsToPairs(f).size());
    }

    @Test
    void splitIsSeededStratifiedAndDeduplicated() throws Exception {
        Path f = tmp.resolve("labels.jsonl");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 200; i++) {
            // 150 of label A, 50 of label B; prompts 0..9 appear twice
            sb.append("{\"prompt\": \"p").append(i < 10 ? i : i).append("\", \"completion\": \"")
                    .append(i % 4 == 0 ? "B" : "A").append("\"}\n");
        }
        for (int i = 0; i < 10; i++) {
            sb.append("{\"prompt\": \"p").append(i).append("\", \"completion\": \"A\"}\n");
        }
        Files.writeString(f, sb.toString());
        DataSplit.Result r = DataSplit.split(f, 0.8, 0.1, 0.1, 7, "completion", true);
        assertEquals(10, r.duplicatesDropped());
        assertEquals(200, r.train().size() + r.val().size() + r.test().size());
        assertEquals(Map.of("A", 120, "B", 40), counts(r.train(), "completion"));
        assertEquals(Map.of("A", 15, "B", 5), counts(r.val(), "completion"));
        assertEquals(Map.of("A", 15, "B", 5), counts(r.test(), "completion"));
        Set<String> all = new HashSet<>();
        for (List<JsonNode> part : List.of(r.train(), r.val(), r.test())) {
            part.forEach(n -> assertTrue(all.add(n.get("prompt").asText()), "no prompt in two parts"));
        }
        DataSplit.Result again = DataSplit.split(f, 0.8, 0.1, 0.1, 7, "completion", true);
        assertEquals(r.train(), again.train());
        DataSplit.Result other = DataSplit.split(f, 0.8, 0.1, 0.1, 8, "completion", true);
        assertTrue(!r.train().equals(other.train()));
        assertThrows(IllegalArgumentException.class, () -> DataSplit.split(f, 0.8, 0.3, 0.1, 7, null, false));
        Path bad = tmp.resolve("bad.jsonl");
        Files.writeString(bad, "{\"prompt\": \"x\", \"completion\": \"A\"}\n{\"prompt\": \"y\"}\n");
        var e = assertThrows(DataException.class, () -> DataSplit.split(bad, 0.8, 0.1, 0.1, 1, "completion", false));
        assertTrue(e.getMessage().contains(bad + ":2:"), e.getMessage());
    }

    private static Map<String, Integer> counts(List<JsonNode> rows, String field) {
        Map<String, Integer> c = new java.util.LinkedHashMap<>();
        for (JsonNode r : rows) {
            c.merge(r.path(field).asText(), 1, Integer::sum);
        }
        return c;
    }
}
