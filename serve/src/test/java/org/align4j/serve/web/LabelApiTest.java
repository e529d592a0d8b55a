package org.align4j.serve.web;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.align4j.core.output.WriterLock;
import org.align4j.core.util.Json;
import org.align4j.core.util.UserInputException;
import org.align4j.data.label.Agreement;
import org.align4j.data.label.JudgmentStore;
import org.align4j.data.label.LabelExport;
import org.align4j.data.label.LabelTask;
import org.align4j.serve.Server;

/**
 * The labeling API a script (and the page) uses, against the CLI's own readers: the store the web
 * writes is read by the code of {@code label agreement} and {@code label export}, and the figures
 * they compute are checked against values worked out by hand.
 */
class LabelApiTest {

    @TempDir
    Path data;

    private static final Map<String, List<String>> RESPONSES = Map.of(
            "t1", List.of("The sea is calm and blue tonight.", "Sea. Water. Wet.", "I like trains."),
            "t2", List.of("You did a great job today.", "Whatever.", "Kindness matters; thank you for your help."),
            "t3", List.of("The dog wagged its tail with joy.", "A dog sat there.", "Dogs are animals that bark."));

    /** A ranking of original indices, turned into the positions the server displayed, by the texts shown. */
    static ArrayNode displayed(JsonNode task, List<List<Integer>> original) {
        List<String> shown = new ArrayList<>();
        task.get("candidates").forEach(c -> shown.add(c.asText()));
        List<String> texts = RESPONSES.get(task.get("id").asText());
        ArrayNode groups = Json.MAPPER.createArrayNode();
        for (List<Integer> g : original) {
            ArrayNode a = groups.addArray();
            g.forEach(i -> a.add(shown.indexOf(texts.get(i))));
        }
        return groups;
    }

    static ObjectNode judgment(String annotator, JsonNode task, List<List<Integer>> original) {
        ObjectNode b = Json.MAPPER.createObjectNode().put("annotator", annotator).put("task_id", task.get("id").asText());
        b.set("ranking", displayed(task, original));
        return b;
    }

    /** Judges whatever task comes next with the ranking {@code plan} holds for it. */
    static void judgeAll(WebFixtures.Http http, String annotator, Map<String, List<List<Integer>>> plan) throws Exception {
        for (int i = 0; i < plan.size(); i++) {
            WebFixtures.Reply next = http.get("/api/label/tasksets/demo/next?annotator=" + annotator);
            assertEquals(200, next.status(), next.body());
            JsonNode task = next.json().get("task");
            WebFixtures.Reply r = http.post("/api/label/tasksets/demo/judgments",
                    judgment(annotator, task, plan.get(task.get("id").asText())));
            assertEquals(200, r.status(), r.body());
        }
    }

    @Test
    void judgmentsLandInTheCliStoreAndTheCliReadersComputeHandWorkedFigures() throws Exception {
        WebFixtures.taskSet(data, "demo");
        try (Server s = WebFixtures.start(data, "sk-web")) {
            WebFixtures.Http http = new WebFixtures.Http("http://127.0.0.1:" + s.port(), "sk-web");
            assertEquals(401, new WebFixtures.Http(http.base(), null).get("/api/label/tasksets").status());
            JsonNode sets = http.get("/api/label/tasksets").json().get("data");
            assertEquals("demo", sets.get(0).get("name").asText());
            assertEquals(3, sets.get(0).get("tasks").asInt());
            assertEquals(1, sets.get(0).get("gold_tasks").asInt());

            // alice: t1 with a tie and a flagged candidate and a rationale, then t2, t3
            JsonNode first = http.get("/api/label/tasksets/demo/next?annotator=alice").json();
            assertEquals(0, first.at("/progress/judged").asInt());
            assertEquals(3, first.at("/progress/total").asInt());
            assertFalse(first.get("task").has("meta"), "gold answers are not shown to annotators");
            Map<String, List<List<Integer>>> alice = Map.of("t1", List.of(List.of(0), List.of(1, 2)),
                    "t2", List.of(List.of(2), List.of(0), List.of(1)), "t3", List.of(List.of(0), List.of(1), List.of(2)));
            JsonNode task = first.get("task");
            ObjectNode body = judgment("alice", task, alice.get(task.get("id").asText()));
            int trainsShownAt = indexOf(task.get("candidates"), "I like trains.");
            body.putObject("candidate_flags").putArray(String.valueOf(trainsShownAt)).add("off_topic");
            body.put("rationale", "the first one answers the prompt");
            WebFixtures.Reply r = http.post("/api/label/tasksets/demo/judgments", body);
            assertEquals(200, r.status(), r.body());
            assertEquals(1, r.json().at("/progress/judged").asInt());
            String firstId = task.get("id").asText();
            for (int i = 0; i < 2; i++) {
                JsonNode t = http.get("/api/label/tasksets/demo/next?annotator=alice").json().get("task");
                assertNotEquals(firstId, t.get("id").asText());
                assertEquals(200, http.post("/api/label/tasksets/demo/judgments",
                        judgment("alice", t, alice.get(t.get("id").asText()))).status());
            }
            JsonNode done = http.get("/api/label/tasksets/demo/next?annotator=alice").json();
            assertTrue(done.get("done").asBoolean());
            assertEquals(3, done.at("/progress/judged").asInt());

            // bob, at the same time as carol, who flags t1 as unsafe
            judgeAll(http, "bob", Map.of("t1", List.of(List.of(1), List.of(0), List.of(2)),
                    "t2", List.of(List.of(2), List.of(0), List.of(1)), "t3", List.of(List.of(1), List.of(0), List.of(2))));
            ObjectNode flag = Json.MAPPER.createObjectNode().put("annotator", "carol").put("task_id", "t1").put("flag", "unsafe");
            assertEquals(200, http.post("/api/label/tasksets/demo/judgments", flag).status());

            // the lines are the CLI's: original indices, display order, candidate flags by original index
            Path store = data.resolve("label/demo.judgments.jsonl");
            List<JsonNode> lines = new ArrayList<>();
            for (String l : Files.readAllLines(store)) {
                lines.add(Json.MAPPER.readTree(l));
            }
            assertEquals(7, lines.size());
            JsonNode a1 = lines.stream().filter(l -> l.get("annotator").asText().equals("alice")
                    && l.get("task_id").asText().equals("t1")).findFirst().orElseThrow();
            assertEquals("judgment", a1.get("type").asText());
            assertEquals(List.of(0), ints(a1.at("/ranking/0")));
            assertEquals(Set.of(1, 2), new HashSet<>(ints(a1.at("/ranking/1"))));
            assertEquals("off_topic", a1.at("/candidate_flags/2/0").asText());
            assertEquals("the first one answers the prompt", a1.get("rationale").asText());
            assertEquals(Set.of(0, 1, 2), new HashSet<>(ints(a1.get("display_order"))));

            // label agreement's and label export's own code on the store
            Map<String, LabelTask> tasks = new LinkedHashMap<>();
            LabelTask.read(data.resolve("label/demo.jsonl")).forEach(t -> tasks.put(t.id(), t));
            JudgmentStore.Contents c = JudgmentStore.readInputs(List.of(store));
            c.checkAgainst(tasks, data.resolve("label/demo.jsonl"));
            Agreement.Report rep = Agreement.compute(c.effective(), tasks);
            // by hand: t1 agrees on (0,2) only, t2 on all 3 pairs, t3 on (0,2) and (1,2): 6 of 9
            assertEquals(3, rep.tasksWithSeveral());
            assertEquals(6.0 / 9, rep.overallAgreement(), 1e-12);
            assertEquals(1.0, rep.goldAccuracy().get("alice"), 1e-12);
            assertEquals(2.0 / 3, rep.goldAccuracy().get("bob"), 1e-12);
            LabelExport.Result ex = LabelExport.export(c, tasks, false, 1);
            assertEquals(6, ex.rankings().size());
            assertEquals(1, ex.flaggedExcluded());
            JsonNode api = http.get("/api/label/tasksets/demo/agreement").json();
            assertEquals(6.0 / 9, api.get("pairwise_agreement").asDouble(), 1e-12);
            assertEquals(1.0, api.at("/gold_accuracy/alice").asDouble(), 1e-12);
        }
    }

    @Test
    void mistakesGetClearErrorsAndNothingIsWritten() throws Exception {
        WebFixtures.taskSet(data, "demo");
        try (Server s = WebFixtures.start(data, null)) {
            WebFixtures.Http http = new WebFixtures.Http("http://127.0.0.1:" + s.port(), null);
            JsonNode task = http.get("/api/label/tasksets/demo/next?annotator=alice").json().get("task");
            ObjectNode dup = Json.MAPPER.createObjectNode().put("annotator", "alice").put("task_id", task.get("id").asText());
            dup.putArray("ranking").add(Json.MAPPER.createArrayNode().add(0)).add(Json.MAPPER.createArrayNode().add(0).add(1));
            WebFixtures.Reply r = http.post("/api/label/tasksets/demo/judgments", dup);
            assertEquals(400, r.status());
            assertEquals("ranking", r.json().at("/error/param").asText());
            ObjectNode unknown = judgment("alice", task, List.of(List.of(0), List.of(1), List.of(2))).put("task_id", "nope");
            assertEquals("task_id", http.post("/api/label/tasksets/demo/judgments", unknown).json().at("/error/param").asText());
            ObjectNode badFlag = judgment("alice", task, List.of(List.of(0), List.of(1), List.of(2)));
            badFlag.putObject("candidate_flags").putArray("0").add("boring");
            assertEquals(400, http.post("/api/label/tasksets/demo/judgments", badFlag).status());
            assertEquals(400, http.get("/api/label/tasksets/..%2F..%2Fetc/next?annotator=alice").status());
            assertEquals(404, http.get("/api/label/tasksets/other/next?annotator=alice").status());
            assertEquals(400, http.get("/api/label/tasksets/demo/next").status());
            assertFalse(Files.exists(data.resolve("label/demo.judgments.jsonl")), "no judgment written by a mistake");

            ObjectNode ok = judgment("alice", task, List.of(List.of(2), List.of(1), List.of(0)));
            assertEquals(200, http.post("/api/label/tasksets/demo/judgments", ok).status());
            WebFixtures.Reply twice = http.post("/api/label/tasksets/demo/judgments", ok);
            assertEquals(409, twice.status(), "a double click does not judge a task twice");

            // a terminal session of dave holds the store for dave: the web refuses dave, names the PID
            try (WriterLock held = new JudgmentStore(data.resolve("label/demo.judgments.jsonl")).lock("dave")) {
                WebFixtures.Reply busy = http.get("/api/label/tasksets/demo/next?annotator=dave");
                assertEquals(409, busy.status());
                assertTrue(busy.json().at("/error/message").asText().contains("in use"), busy.body());
                assertFalse(busy.body().contains(data.toString()), "no server path in the message: " + busy.body());
            }
        }
    }

    @Test
    void undoRetractsAndSkipRequeues() throws Exception {
        WebFixtures.taskSet(data, "demo");
        try (Server s = WebFixtures.start(data, null)) {
            WebFixtures.Http http = new WebFixtures.Http("http://127.0.0.1:" + s.port(), null);
            JsonNode t1 = http.get("/api/label/tasksets/demo/next?annotator=alice").json().get("task");
            JsonNode afterSkip = http.post("/api/label/tasksets/demo/skip", Json.MAPPER.createObjectNode()
                    .put("annotator", "alice").put("task_id", t1.get("id").asText())).json();
            JsonNode t2 = afterSkip.get("task");
            assertNotEquals(t1.get("id").asText(), t2.get("id").asText());
            assertEquals(200, http.post("/api/label/tasksets/demo/judgments",
                    judgment("alice", t2, List.of(List.of(0), List.of(1), List.of(2)))).status());
            JsonNode undone = http.post("/api/label/tasksets/demo/undo", Json.MAPPER.createObjectNode()
                    .put("annotator", "alice")).json();
            assertEquals(t2.get("id").asText(), undone.at("/task/id").asText(), "the undone task comes back first");
            assertEquals(0, undone.at("/progress/judged").asInt());
            List<String> lines = Files.readAllLines(data.resolve("label/demo.judgments.jsonl"));
            assertEquals(2, lines.size());
            assertEquals("retraction", Json.MAPPER.readTree(lines.get(1)).get("type").asText());
            JudgmentStore.Contents c = JudgmentStore.readInputs(List.of(data.resolve("label/demo.judgments.jsonl")));
            assertTrue(c.effective().isEmpty());
        }
    }

    @Test
    void annotatorsJudgingAtOnceAllLand() throws Exception {
        WebFixtures.taskSet(data, "demo");
        try (Server s = WebFixtures.start(data, null)) {
            WebFixtures.Http http = new WebFixtures.Http("http://127.0.0.1:" + s.port(), null);
            Map<String, List<List<Integer>>> plan = Map.of("t1", List.of(List.of(0), List.of(1), List.of(2)),
                    "t2", List.of(List.of(1), List.of(0, 2)), "t3", List.of(List.of(2), List.of(1), List.of(0)));
            ExecutorService pool = Executors.newFixedThreadPool(6);
            List<Future<?>> fs = new ArrayList<>();
            for (int a = 0; a < 6; a++) {
                String who = "annotator-" + a;
                fs.add(pool.submit(() -> {
                    judgeAll(http, who, plan);
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get();
            }
            pool.shutdown();
            JudgmentStore.Contents c = JudgmentStore.readInputs(List.of(data.resolve("label/demo.judgments.jsonl")));
            assertEquals(0, c.tornLines());
            assertEquals(18, c.effective().size());
            assertEquals(1.0, Agreement.compute(c.effective(), Map.of()).overallAgreement(), 1e-12);
        }
    }

    @Test
    void anIdleSessionGivesItsLockBack() throws Exception {
        WebFixtures.taskSet(data, "demo");
        try (LabelDesk desk = new LabelDesk(data)) {
            desk.next("demo", "erin");
            JudgmentStore store = desk.store("demo");
            assertThrows(UserInputException.class, () -> store.lock("erin").close(), "held while erin labels");
            desk.releaseIdle(System.nanoTime());
            assertThrows(UserInputException.class, () -> store.lock("erin").close(), "not idle yet");
            desk.releaseIdle(System.nanoTime() + LabelDesk.IDLE_NANOS + 1);
            store.lock("erin").close(); // free for the terminal session now
            assertEquals(0, desk.next("demo", "erin").at("/progress/judged").asInt(), "and erin may come back");
        }
    }

    static int indexOf(JsonNode candidates, String text) {
        for (int i = 0; i < candidates.size(); i++) {
            if (candidates.get(i).asText().equals(text)) {
                return i;
            }
        }
        throw new AssertionError(text + " not shown");
    }

    static List<Integer> ints(JsonNode a) {
        List<Integer> out = new ArrayList<>();
        a.forEach(n -> out.add(n.asInt()));
        return out;
    }
}
