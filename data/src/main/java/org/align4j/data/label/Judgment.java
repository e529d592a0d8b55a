package org.align4j.data.label;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One annotator's judgment of one task, as stored: the ranking over the original response
 * indices (best group first; empty when the task was flagged), flags, rationale, time spent,
 * and the order in which the responses were shown ({@code displayOrder[i]} is the original
 * index shown as letter i). {@code candidateFlags} marks single responses (by original index) as
 * unsafe or off-topic while the ranking still counts, as InstructGPT's labelers tagged outputs
 * beside ranking them; a flag in {@code flags} is about the whole task and leaves it unranked.
 * A binary judgment ({@code label session --mode binary}) judges one response instead:
 * {@code response} is its original index and {@code label} the thumb (true: up, desirable; null
 * when the response was flagged); it has no ranking and no display order.
 */
public record Judgment(String id, String taskId, String annotator, Ranking ranking, List<String> flags,
                       String rationale, double seconds, String createdAt, List<Integer> displayOrder,
                       Map<Integer, List<String>> candidateFlags, Integer response, Boolean label) {

    /** What a single response may be flagged as (the web page's per-candidate flags). */
    public static final List<String> CANDIDATE_FLAGS = List.of("unsafe", "off_topic");

    private static final ObjectMapper JSON = new ObjectMapper();

    public Judgment {
        candidateFlags = candidateFlags == null ? Map.of() : Map.copyOf(new TreeMap<>(candidateFlags));
    }

    /** A ranking judgment (or a flag of a whole task) without per-response flags. */
    public Judgment(String id, String taskId, String annotator, Ranking ranking, List<String> flags,
                    String rationale, double seconds, String createdAt, List<Integer> displayOrder) {
        this(id, taskId, annotator, ranking, flags, rationale, seconds, createdAt, displayOrder, Map.of(), null, null);
    }

    /** A ranking judgment with per-response flags (the web page's). */
    public Judgment(String id, String taskId, String annotator, Ranking ranking, List<String> flags,
                    String rationale, double seconds, String createdAt, List<Integer> displayOrder,
                    Map<Integer, List<String>> candidateFlags) {
        this(id, taskId, annotator, ranking, flags, rationale, seconds, createdAt, displayOrder, candidateFlags,
                null, null);
    }

    /** A binary judgment: one response, up or down. */
    public Judgment(String id, String taskId, String annotator, Ranking ranking, List<String> flags,
                    String rationale, double seconds, String createdAt, List<Integer> displayOrder,
                    Integer response, Boolean label) {
        this(id, taskId, annotator, ranking, flags, rationale, seconds, createdAt, displayOrder, Map.of(),
                response, label);
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
        if (!candidateFlags.isEmpty()) { // absent otherwise: lines of the terminal session stay as they were
            ObjectNode cf = o.putObject("candidate_flags");
            new TreeMap<>(candidateFlags).forEach((i, fs) -> {
                var a = cf.putArray(String.valueOf(i));
                fs.forEach(a::add);
            });
        }
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
        List<String> flags = new ArrayList<>();
        o.path("flags").forEach(f -> flags.add(f.asText()));
        List<Integer> order = new ArrayList<>();
        o.path("display_order").forEach(i -> order.add(i.asInt()));
        JsonNode r = o.path("ranking");
        Ranking ranking = r.isArray() && r.size() > 0 ? Ranking.fromJson(r, order.isEmpty() ? countOf(r) : order.size())
                : null;
        Map<Integer, List<String>> candidateFlags = new TreeMap<>();
        o.path("candidate_flags").fields().forEachRemaining(e -> {
            List<String> fs = new ArrayList<>();
            e.getValue().forEach(f -> fs.add(f.asText()));
            try {
                candidateFlags.put(Integer.parseInt(e.getKey()), List.copyOf(fs));
            } catch (NumberFormatException bad) {
                throw new IllegalArgumentException("field 'candidate_flags': '" + e.getKey()
                        + "' is not a response index");
            }
        });
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
                order, candidateFlags, resp, label);
    }

    private static int countOf(JsonNode ranking) {
        int n = 0;
        for (JsonNode g : ranking) {
            n += g.isArray() ? g.size() : 1;
        }
        return n;
    }
}
