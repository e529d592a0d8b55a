package org.align4j.serve.web;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.align4j.data.label.JudgmentStore;

/** What a 200 from the labeling API promised is on disk when the server is killed right after it. */
class LabelCrashTest {

    @TempDir
    Path data;

    @Test
    void judgmentsAnsweredBeforeASigkillAreAllThereAfterRestart() throws Exception {
        WebFixtures.taskSet(data, "demo");
        Map<String, List<List<Integer>>> plan = Map.of("t1", List.of(List.of(0), List.of(1), List.of(2)),
                "t2", List.of(List.of(1), List.of(0, 2)), "t3", List.of(List.of(2), List.of(1), List.of(0)));
        try (ChildServer child = new ChildServer(data, "sk-crash")) {
            WebFixtures.Http http = new WebFixtures.Http("http://127.0.0.1:" + child.port, "sk-crash");
            LabelApiTest.judgeAll(http, "alice", plan);
            child.kill(); // the moment after the third 200
        }
        JudgmentStore.Contents c = JudgmentStore.readInputs(List.of(data.resolve("label/demo.judgments.jsonl")));
        assertEquals(3, c.effective("alice").size());
        // the killed server's lock does not block alice on the restarted one
        try (ChildServer again = new ChildServer(data, "sk-crash")) {
            WebFixtures.Http http = new WebFixtures.Http("http://127.0.0.1:" + again.port, "sk-crash");
            JsonNode next = http.get("/api/label/tasksets/demo/next?annotator=alice").json();
            assertEquals(3, next.at("/progress/judged").asInt(), next.toString());
            assertEquals(true, next.get("done").asBoolean());
        }
    }
}
