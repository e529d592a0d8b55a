package org.align4j.cli;

import static org.align4j.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.align4j.core.util.Json;
import org.align4j.serve.ServeApp;
import org.align4j.serve.ServeConfig;
import org.align4j.serve.Server;

/**
 * The web's labeling and the terminal's are one store: {@code label session} is refused while the
 * same annotator labels on the web, continues with the tasks the web left after the web session
 * ends, and {@code label agreement} and {@code label export} read what the web wrote.
 */
class WebLabelingCliTest {

    @TempDir
    Path data;

    private final HttpClient http = HttpClient.newHttpClient();

    private JsonNode call(String base, String path, ObjectNode body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path));
        if (body != null) {
            b.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body.toString()));
        }
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return Json.MAPPER.readTree(r.body());
    }

    /** Judges the annotator's next task on the web: the candidates in the order shown, best first. */
    private void judgeNext(String base, String annotator) throws Exception {
        JsonNode task = call(base, "/api/label/tasksets/demo/next?annotator=" + annotator, null).get("task");
        ObjectNode j = Json.MAPPER.createObjectNode().put("annotator", annotator).put("task_id", task.get("id").asText());
        var ranking = j.putArray("ranking");
        for (int i = 0; i < task.get("candidates").size(); i++) {
            ranking.addArray().add(i);
        }
        call(base, "/api/label/tasksets/demo/judgments", j);
    }

    @Test
    void theTerminalAndTheWebShareOneStore() throws Exception {
        Path tasks = data.resolve("label/demo.jsonl");
        Files.createDirectories(tasks.getParent());
        StringBuilder t = new StringBuilder();
        for (int i = 1; i <= 3; i++) {
            t.append("{\"id\": \"t").append(i).append("\", \"prompt\": \"Prompt ").append(i)
                    .append("\", \"responses\": [\"a").append(i).append("\", \"b").append(i).append("\", \"c").append(i)
                    .append("\"]}\n");
        }
        Files.writeString(tasks, t.toString());
        Path store = data.resolve("label/demo.judgments.jsonl");
        ServeConfig cfg = new ServeConfig(List.of(), "127.0.0.1", 0, data, null, 1 << 20, 1 << 20);
        try (Server s = ServeApp.create(cfg, new PrintStream(new ByteArrayOutputStream())).start()) {
            String base = "http://127.0.0.1:" + s.port();
            judgeNext(base, "alice");
            String[] refused = run("q\n", "label", "session", "--tasks", tasks.toString(), "--out", store.toString(),
                    "--annotator", "alice");
            assertEquals("1", refused[0], refused[2]);
            assertTrue(refused[2].contains("in use"), refused[2]);

            call(base, "/api/label/tasksets/demo/release", Json.MAPPER.createObjectNode().put("annotator", "alice"));
            String[] session = run("A>B>C\nA>B=C\n", "label", "session", "--tasks", tasks.toString(), "--out",
                    store.toString(), "--annotator", "alice");
            assertEquals("0", session[0], session[2]);
            assertTrue(session[1].contains("[2 of 3]") && !session[1].contains("[1 of 3]"), session[1]);
            assertTrue(session[2].contains("2 judged"), session[2]);

            for (int i = 0; i < 3; i++) {
                judgeNext(base, "bob");
            }
        }
        String[] agreement = run("", "label", "agreement", "--in", store.toString(), "--tasks", tasks.toString(), "--json");
        assertEquals("0", agreement[0], agreement[2]);
        JsonNode a = Json.MAPPER.readTree(agreement[1]);
        assertEquals(3, a.get("tasks_with_several_annotators").asInt());
        assertEquals(9, a.at("/pairs/0/items").asInt(), "alice ~ bob on all three tasks");

        Path pairs = data.resolve("pairs.jsonl");
        String[] export = run("", "label", "export", "--in", store.toString(), "--tasks", tasks.toString(), "--to",
                "pairs", "--out", pairs.toString());
        assertEquals("0", export[0], export[2]);
        // six rankings of three: five strict (3 pairs each), alice's B=C one (2 pairs)
        List<String> lines = Files.readAllLines(pairs);
        assertEquals(5 * 3 + 2, lines.size());
        Set<String> ids = new HashSet<>();
        for (String line : Files.readAllLines(store)) {
            JsonNode j = Json.MAPPER.readTree(line);
            ids.add(j.get("annotator").asText() + "/" + j.get("task_id").asText());
        }
        assertEquals(6, ids.size(), "each task once per annotator: " + ids);
    }
}
