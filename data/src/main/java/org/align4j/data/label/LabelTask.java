package org.align4j.data.label;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.data.jsonl.JsonlReader;

/**
 * A labeling task: a prompt and K candidate responses (2 <= K <= 9), optionally with a known
 * ranking in {@code meta.gold} for screening annotators.
 */
public record LabelTask(String id, String prompt, List<String> responses, JsonNode meta, Ranking gold) {

    public static final int MIN_K = 2;
    public static final int MAX_K = 9;

    public int k() {
        return responses.size();
    }

    /** Reads a task file, refusing it with FILE:LINE: messages. Ids must be unique. */
    public static List<LabelTask> read(Path file) throws IOException {
        List<LabelTask> tasks = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        try (JsonlReader in = new JsonlReader(file)) {
            JsonlReader.Line line;
            while ((line = in.next()) != null) {
                String where = file + ":" + line.number() + ": ";
                if (!line.ok()) {
                    throw new IOException(where + "not JSON: " + line.error());
                }
                JsonNode o = line.json();
                if (!o.isObject()) {
                    throw new IOException(where + "expected a JSON object");
                }
                if (!o.path("id").isTextual() && !o.path("id").isNumber()) {
                    throw new IOException(where + "field 'id' (string) is missing");
                }
                String id = o.get("id").asText();
                if (!ids.add(id)) {
                    throw new IOException(where + "field 'id': '" + id + "' is used twice");
                }
                if (!o.path("prompt").isTextual()) {
                    throw new IOException(where + "field 'prompt' (string) is missing");
                }
                JsonNode rs = o.path("responses");
                if (!rs.isArray() || rs.size() < MIN_K || rs.size() > MAX_K) {
                    throw new IOException(where + "field 'responses' must be a list of " + MIN_K + " to " + MAX_K
                            + " strings");
                }
                List<String> responses = new ArrayList<>();
                for (int i = 0; i < rs.size(); i++) {
                    if (!rs.get(i).isTextual()) {
                        throw new IOException(where + "responses[" + i + "] must be a string");
                    }
                    responses.add(rs.get(i).asText());
                }
                JsonNode meta = o.get("meta");
                Ranking gold = null;
                if (meta != null && meta.has("gold")) {
                    try {
                        gold = Ranking.fromJson(meta.get("gold"), responses.size());
                    } catch (IllegalArgumentException e) {
                        throw new IOException(where + "field 'meta.gold': " + e.getMessage());
                    }
                }
                tasks.add(new LabelTask(id, o.get("prompt").asText(), List.copyOf(responses), meta, gold));
            }
        }
        if (tasks.isEmpty()) {
            throw new IOException(file + ": no tasks");
        }
        return tasks;
    }
}
