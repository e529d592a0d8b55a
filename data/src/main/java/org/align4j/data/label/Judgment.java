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
 */
public record Judgment(String id, String taskId, String annotator, Ranking ranking, List<String> flags,
                       String rationale, double seconds, String createdAt, List<Integer> displayOrder,
                       Map<Integer, List<String>> candidateFlags) {

    /** What a single response may be flagged as (the web page's per-candidate flags). */
    public static final List<String> CANDIDATE_FLAGS = List.of("unsafe", "off_topic");

    private static final ObjectMapper JSON = new ObjectMapper();

    public Judgment {
        candidateFlags = candidateFlags == null ? Map.of() : Map.copyOf(new TreeMap<>(candidateFlags));
    }

    /** A judgment without per-response flags (the terminal session's and the simulated annotator's). */
    public Judgment(String id, String taskId, String annotator, Ranking ranking, List<String> flags,
                    String rationale, double seconds, String createdAt, List<Integer> displayOrder) {
        this(id, taskId, annotator, ranking, flags, rationale, seconds, createdAt, displayOrder, Map.of());
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
        return new Judgment(o.path("id").asText(), o.path("task_id").asText(), o.path("annotator").asText(), ranking,
                flags, o.path("rationale").asText(""), o.path("seconds").asDouble(), o.path("created_at").asText(),
                order, candidateFlags);
    }

    private static int countOf(JsonNode ranking) {
        int n = 0;
        for (JsonNode g : ranking) {
            n += g.isArray() ? g.size() : 1;
        }
        return n;
    }
}
