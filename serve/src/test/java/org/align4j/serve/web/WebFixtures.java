package org.align4j.serve.web;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.run.RunDirectory;
import org.align4j.core.util.Json;
import org.align4j.serve.ServeApp;
import org.align4j.serve.ServeConfig;
import org.align4j.serve.Server;

/** A data directory with a task set and a run, a server on it, and a small HTTP client. */
final class WebFixtures {

    /** Three tasks of three responses; t3 is a gold task whose known ranking is 0 > 1 > 2. */
    static final String TASKS = String.join("\n",
            "{\"id\": \"t1\", \"prompt\": \"Write one line about the sea.\", \"responses\": [\"The sea is calm and blue tonight.\", \"Sea. Water. Wet.\", \"I like trains.\"]}",
            "{\"id\": \"t2\", \"prompt\": \"Say something kind.\", \"responses\": [\"You did a great job today.\", \"Whatever.\", \"Kindness matters; thank you for your help.\"]}",
            "{\"id\": \"t3\", \"prompt\": \"Describe a happy dog.\", \"responses\": [\"The dog wagged its tail with joy.\", \"A dog sat there.\", \"Dogs are animals that bark.\"], \"meta\": {\"gold\": [[0], [1], [2]]}}",
            "");

    private WebFixtures() {
    }

    static Path taskSet(Path dataDir, String name) throws Exception {
        Path f = dataDir.resolve("label").resolve(name + ".jsonl");
        Files.createDirectories(f.getParent());
        Files.writeString(f, TASKS);
        return f;
    }

    /** A finished run with 12 logged steps (loss falling as 2/(1+step/4), val_loss every 4) and two events. */
    static Path run(Path dataDir, String rel) throws Exception {
        RunDirectory run = new RunDirectory(dataDir.resolve(rel));
        run.create();
        run.writeConfig(Json.MAPPER.createObjectNode().put("stage", "sft").put("learning_rate", 1e-3));
        run.appendEvent(RunDirectory.Status.RUNNING, "training started");
        for (int step = 1; step <= 12; step++) {
            ObjectNode row = Json.MAPPER.createObjectNode().put("step", step).put("loss", 2.0 / (1 + step / 4.0))
                    .put("learning_rate", 1e-3);
            if (step % 4 == 0) {
                row.put("val_loss", 2.2 / (1 + step / 4.0));
            }
            run.appendMetrics(row);
        }
        run.appendEvent(RunDirectory.Status.SUCCEEDED, "done");
        return run.root();
    }

    static Server start(Path dataDir, String key) {
        ServeConfig cfg = new ServeConfig(List.of(), "127.0.0.1", 0, dataDir, key, 1 << 20, 1 << 20);
        return ServeApp.create(cfg, new PrintStream(new ByteArrayOutputStream())).start();
    }

    /** The HTTP side of a test: JSON in, status and JSON out. */
    record Http(String base, String key) {
        private static final HttpClient CLIENT = HttpClient.newHttpClient();

        Reply get(String path) throws Exception {
            return send(request(path).GET());
        }

        Reply post(String path, JsonNode body) throws Exception {
            return send(request(path).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(Json.MAPPER.writeValueAsString(body))));
        }

        private HttpRequest.Builder request(String path) {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path));
            return key == null ? b : b.header("Authorization", "Bearer " + key);
        }

        private static Reply send(HttpRequest.Builder b) throws Exception {
            HttpResponse<String> r = CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
            JsonNode json = null;
            try {
                json = Json.MAPPER.readTree(r.body());
            } catch (Exception e) {
                // not JSON (a page)
            }
            return new Reply(r.statusCode(), json, r.body());
        }
    }

    record Reply(int status, JsonNode json, String body) {
    }
}
