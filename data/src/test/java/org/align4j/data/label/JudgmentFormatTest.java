package org.align4j.data.label;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Per-response flags in the judgment line: absent unless given, read back, a bad key named by FILE:LINE. */
class JudgmentFormatTest {

    @TempDir
    Path dir;

    @Test
    void candidateFlagsRoundTripAndLeaveOtherLinesAsTheyWere() throws Exception {
        JudgmentStore store = new JudgmentStore(dir.resolve("j.jsonl"));
        Ranking r = new Ranking(List.of(List.of(1), List.of(0, 2)));
        store.append("t1", "alice", r, List.of(), "", 1.5, List.of(2, 0, 1));
        store.append("t2", "alice", r, List.of(), "why", 2.0, List.of(0, 1, 2), Map.of(2, List.of("unsafe", "off_topic")));
        List<String> lines = Files.readAllLines(store.file());
        JsonNode plain = new ObjectMapper().readTree(lines.get(0));
        assertFalse(plain.has("candidate_flags"), "the terminal session's lines keep their keys");
        assertEquals(List.of("type", "id", "task_id", "annotator", "ranking", "flags", "rationale", "seconds",
                "created_at", "display_order"), fieldNames(plain));
        JsonNode flagged = new ObjectMapper().readTree(lines.get(1));
        assertEquals("[\"unsafe\",\"off_topic\"]", flagged.get("candidate_flags").get("2").toString());
        List<Judgment> read = JudgmentStore.readInputs(List.of(store.file())).effective();
        assertEquals(Map.of(), read.get(0).candidateFlags());
        assertEquals(Map.of(2, List.of("unsafe", "off_topic")), read.get(1).candidateFlags());
        assertFalse(read.get(1).flagged(), "a flagged response leaves the ranking in use");
    }

    @Test
    void aCandidateFlagThatIsNotAnIndexIsNamedWithItsLine() throws Exception {
        Path f = dir.resolve("bad.jsonl");
        Files.writeString(f, "{\"type\": \"judgment\", \"id\": \"a\", \"task_id\": \"t1\", \"annotator\": \"x\","
                + " \"ranking\": [[0], [1]], \"flags\": [], \"display_order\": [0, 1], \"candidate_flags\": {\"B\": [\"unsafe\"]}}\n");
        IOException e = assertThrows(IOException.class, () -> JudgmentStore.readInputs(List.of(f)));
        assertTrue(e.getMessage().contains(f + ":1:") && e.getMessage().contains("candidate_flags"), e.getMessage());
    }

    private static List<String> fieldNames(JsonNode n) {
        List<String> out = new ArrayList<>();
        n.fieldNames().forEachRemaining(out::add);
        return out;
    }
}
