package org.align4j.serve.jobs;

import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.util.Json;

/**
 * A run's metric row under the names OpenAI's fine-tuning API uses. The stages log TRL's names
 * ({@code loss}, {@code mean_token_accuracy}, {@code val_loss}, ...); align4j evaluates the whole
 * validation file, so {@code valid_*} and {@code full_valid_*} are the same numbers.
 */
final class EventMirror {

    /** OpenAI's name for each of the loop's. */
    static final Map<String, String> NAMES = Map.of(
            "loss", "train_loss",
            "mean_token_accuracy", "train_mean_token_accuracy",
            "val_loss", "valid_loss",
            "val_mean_token_accuracy", "valid_mean_token_accuracy");

    private EventMirror() {
    }

    /**
     * The row's metrics by OpenAI's names with {@code step}; for a metrics event (not a
     * checkpoint), every other metric of the row is kept under its own name too.
     */
    static ObjectNode openAiMetrics(JsonNode row, long step, boolean checkpoint) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("step", step);
        if (row == null) {
            return o;
        }
        row.fields().forEachRemaining(e -> {
            String name = NAMES.get(e.getKey());
            if (name != null && e.getValue().isNumber()) {
                o.put(name, e.getValue().asDouble());
                if (name.startsWith("valid_")) {
                    o.put("full_" + name, e.getValue().asDouble());
                }
            } else if (!checkpoint && !e.getKey().equals("step") && e.getValue().isNumber()) {
                o.set(e.getKey(), e.getValue());
            }
        });
        return o;
    }

    /** OpenAI's wording: {@code Step 3/8: training loss=1.2345, validation loss=1.3}. */
    static String message(ObjectNode data, long total) {
        StringBuilder b = new StringBuilder("Step " + data.path("step").asLong() + (total > 0 ? "/" + total : "") + ":");
        if (data.has("train_loss")) {
            b.append(String.format(" training loss=%.4f", data.get("train_loss").asDouble()));
        }
        if (data.has("valid_loss")) {
            b.append(String.format(", validation loss=%.4f", data.get("valid_loss").asDouble()));
        }
        return b.toString();
    }
}
