package org.align4j.data.label;

import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One annotator's judgment of one task, as stored: the ranking over the original response
 * indices (best group first; empty when the task was flagged), flags, rationale, time spent,
 * and the order in which the responses were shown ({@code displayOrder[i]} is the original
 * index shown as letter i). A binary judgment ({@code label session --mode binary}) judges one
 * response instead: {@code response} is its original index and {@code label} the thumb (true:
 * up, desirable; null when the response was flagged); it has no ranking and no display order.
 */
public record Judgment(String id, String taskId, String annotator, Ranking ranking, List<String> flags,
                       String rationale, double seconds, String createdAt, List<Integer> displayOrder,
                       Integer response, Boolean label) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A ranking judgment (or a flag of a whole task). */
    public Judgment(String id, String taskId, String annotator, Ranking ranking, List<String> flags, String rationale,
                    double seconds, String createdAt, List<Integer> displayOrder) {
        this(id, taskId, annotator, ranking, flags, rationale, seconds, createdAt, displayOrder, null, null);
    }

    /** Whether this judges one response up or down rather than ranking the task's responses. */
    public boolean binary() {
        return response != null;
    }

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
        if (binary()) {
            o.put("response", response);
            if (label == null) {
                o.putNull("label");
            } else {
                o.put("label", label);
            }
        }
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
        JsonNode response = o.get("response");
        Integer resp = null;
        Boolean label = null;
        if (response != null && !response.isNull()) {
            if (!response.isIntegralNumber() || response.asInt() < 0) {
                throw new IllegalArgumentException("field 'response' must be a response index, got " + response);
            }
            JsonNode l = o.get("label");
            if (l != null && !l.isNull() && !l.isBoolean()) {
                throw new IllegalArgumentException("field 'label' must be true, false or null, got " + l);
            }
            resp = response.asInt();
            label = l == null || l.isNull() ? null : l.asBoolean();
        }
        return new Judgment(o.path("id").asText(), o.path("task_id").asText(), o.path("annotator").asText(), ranking,
                flags, o.path("rationale").asText(""), o.path("seconds").asDouble(), o.path("created_at").asText(),
                order, resp, label);
    }

    private static int countOf(JsonNode ranking) {
        int n = 0;
        for (JsonNode g : ranking) {
            n += g.isArray() ? g.size() : 1;
        }
        return n;
    }
}
