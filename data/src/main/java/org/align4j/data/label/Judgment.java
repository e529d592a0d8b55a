package org.align4j.data.label;

import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One annotator's judgment of one task, as stored: the ranking over the original response
 * indices (best group first; empty when the task was flagged), flags, rationale, time spent,
 * and the order in which the responses were shown ({@code displayOrder[i]} is the original
 * index shown as letter i).
 */
public record Judgment(String id, String taskId, String annotator, Ranking ranking, List<String> flags,
                       String rationale, double seconds, String createdAt, List<Integer> displayOrder) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public boolean flagged() {
        return !flags.isEmpty();
    }

    public ObjectNode toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("type", "judgment");
        o.put("id", id);
        o.put("task_id", taskId);
        o.put("annotator", annotator);
        o.set("ranking", ranking == null ? JSON.createArrayNode() : ranking.toJson());
        var f = o.putArray("flags");
        flags.forEach(f::add);
        o.put("rationale", rationale);
        o.put("seconds", Math.round(seconds * 1000) / 1000.0);
        o.put("created_at", createdAt);
        var d = o.putArray("display_order");
        displayOrder.forEach(d::add);
        return o;
    }

    static Judgment fromJson(JsonNode o) {
        List<String> flags = new java.util.ArrayList<>();
        o.path("flags").forEach(f -> flags.add(f.asText()));
        List<Integer> order = new java.util.ArrayList<>();
        o.path("display_order").forEach(i -> order.add(i.asInt()));
        JsonNode r = o.path("ranking");
        Ranking ranking = r.isArray() && r.size() > 0 ? Ranking.fromJson(r, order.isEmpty() ? countOf(r) : order.size())
                : null;
        return new Judgment(o.path("id").asText(), o.path("task_id").asText(), o.path("annotator").asText(), ranking,
                flags, o.path("rationale").asText(""), o.path("seconds").asDouble(), o.path("created_at").asText(),
                order);
    }

    private static int countOf(JsonNode ranking) {
        int n = 0;
        for (JsonNode g : ranking) {
            n += g.isArray() ? g.size() : 1;
        }
        return n;
    }
}
