package org.align4j.data.prepare;

import org.align4j.core.util.UserInputException;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.data.format.DataException;
import org.align4j.data.format.DataRecord;
import org.align4j.data.format.Problem;
import org.align4j.data.format.ProblemKind;
import org.align4j.data.format.RecordJson;
import org.align4j.data.format.RecordKind;
import org.align4j.data.format.RecordParser;
import org.align4j.data.jsonl.JsonlReader;

/**
 * CSV, TSV, JSON arrays and JSONL with other field names into align4j's formats, as OpenAI's
 * {@code prepare_data} accepts. Every output row is checked by the record parser, so what this
 * writes validates.
 */
public final class DataConvert {

    /** Where each field of the target format comes from. Null fields take the target's own name. */
    public record Mapping(RecordKind to, String promptField, String completionField, String textField,
                          String chosenField, String rejectedField, String systemPrompt, boolean hhRlhf) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private DataConvert() {
    }

    /** Input format from the file name: .csv, .tsv, .json (an array) or .jsonl. */
    public static String formatOf(Path file, String given) {
        if (given != null) {
            return given.toLowerCase(Locale.ROOT);
        }
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".csv")) {
            return "csv";
        }
        if (name.endsWith(".tsv") || name.endsWith(".tab")) {
            return "tsv";
        }
        if (name.endsWith(".json")) {
            return "json";
        }
        return "jsonl";
    }

    /** Input rows as flat objects, each with the line it starts on. */
    static List<Map.Entry<Long, JsonNode>> readRows(Path file, String format) throws IOException {
        List<Map.Entry<Long, JsonNode>> rows = new ArrayList<>();
        switch (format) {
            case "csv", "tsv" -> {
                try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                    List<Csv.Row> csv = Csv.read(r, format.equals("csv") ? ',' : '\t', file.toString());
                    if (csv.isEmpty()) {
                        return rows;
                    }
                    List<String> header = csv.get(0).fields();
                    for (int i = 1; i < csv.size(); i++) {
                        Csv.Row row = csv.get(i);
                        if (row.fields().size() != header.size()) {
                            throw new IOException(file + ":" + row.line() + ": " + row.fields().size()
                                    + " fields, the header has " + header.size());
                        }
                        ObjectNode o = JSON.createObjectNode();
                        for (int c = 0; c < header.size(); c++) {
                            o.put(header.get(c).trim(), row.fields().get(c));
                        }
                        rows.add(Map.entry(row.line(), o));
                    }
                }
            }
            case "json" -> {
                JsonNode root;
                try {
                    root = JSON.readTree(file.toFile());
                } catch (com.fasterxml.jackson.core.JacksonException e) {
                    throw new IOException(file + ":" + e.getLocation().getLineNr() + ": not JSON: "
                            + e.getOriginalMessage());
                }
                if (root == null || !root.isArray()) {
                    throw new IOException(file + ": expected a JSON array of objects");
                }
                long i = 0;
                for (JsonNode n : root) {
                    rows.add(Map.entry(++i, n));
                }
            }
            case "jsonl" -> {
                try (JsonlReader in = new JsonlReader(file)) {
                    JsonlReader.Line line;
                    while ((line = in.next()) != null) {
                        if (!line.ok()) {
                            throw new IOException(file + ":" + line.number() + ": not JSON: " + line.error());
                        }
                        rows.add(Map.entry(line.number(), line.json()));
                    }
                }
            }
            default -> throw new UserInputException("unknown input format '" + format
                    + "' (csv, tsv, json, jsonl)");
        }
        return rows;
    }

    public static List<JsonNode> convert(Path file, String inputFormat, Mapping m) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        List<Problem> problems = new ArrayList<>();
        for (Map.Entry<Long, JsonNode> row : readRows(file, formatOf(file, inputFormat))) {
            long line = row.getKey();
            JsonNode in = row.getValue();
            try {
                ObjectNode o = map(in, m);
                RecordParser.Result r = RecordParser.parse(o, m.to());
                if (!r.ok()) {
                    for (RecordParser.Issue i : r.problems()) {
                        problems.add(new Problem(file.toString(), line, i.kind(), i.message()));
                    }
                    continue;
                }
                out.add(RecordJson.toJson(r.record()));
            } catch (IllegalArgumentException e) {
                problems.add(new Problem(file.toString(), line, ProblemKind.MISSING_FIELD, e.getMessage()));
            }
        }
        if (!problems.isEmpty()) {
            throw new DataException(file + ": " + problems.size() + " row(s) cannot be converted:", problems);
        }
        return out;
    }

    private static String field(JsonNode in, String name) {
        JsonNode n = in.get(name);
        if (n == null || n.isNull()) {
            throw new UserInputException("missing field '" + name + "' (choose another with --" + "*-field)");
        }
        return n.isTextual() ? n.asText() : n.toString();
    }

    private static String or(String given, String fallback) {
        return given != null ? given : fallback;
    }

    private static ObjectNode map(JsonNode in, Mapping m) {
        ObjectNode o = JSON.createObjectNode();
        switch (m.to()) {
            case TEXT -> o.put("text", field(in, or(m.textField(), "text")));
            case COMPLETION -> o.put("prompt", field(in, or(m.promptField(), "prompt")))
                    .put("completion", field(in, or(m.completionField(), "completion")));
            case CHAT -> {
                var msgs = o.putArray("messages");
                if (m.systemPrompt() != null) {
                    msgs.addObject().put("role", "system").put("content", m.systemPrompt());
                }
                msgs.addObject().put("role", "user").put("content", field(in, or(m.promptField(), "prompt")));
                msgs.addObject().put("role", "assistant").put("content",
                        field(in, or(m.completionField(), "completion")));
            }
            case PREFERENCE -> {
                String chosen = field(in, or(m.chosenField(), "chosen"));
                String rejected = field(in, or(m.rejectedField(), "rejected"));
                if (m.hhRlhf()) {
                    DataRecord.Preference p = HhRlhf.toExplicit(chosen, rejected);
                    return RecordJson.toJson(p);
                }
                String promptField = or(m.promptField(), "prompt");
                if (in.has(promptField)) {
                    o.put("prompt", field(in, promptField));
                }
                o.put("chosen", chosen).put("rejected", rejected);
            }
            case RANKING -> throw new UserInputException("convert writes text, completion, chat or preference;"
                    + " rankings come from 'align4j label export'");
            case UNPAIRED -> throw new UserInputException("convert writes text, completion, chat or preference;"
                    + " unpaired (KTO) records come from 'align4j data to-kto' or 'align4j label export --to kto'");
        }
        return o;
    }

    /** Rankings to preference pairs (all C(K,2) ordered pairs of each prompt, ties excluded). */
    public static List<JsonNode> rankingsToPairs(Path file) throws IOException {
        org.align4j.data.format.Dataset d = org.align4j.data.format.Dataset.read(file, RecordKind.RANKING, false);
        List<JsonNode> out = new ArrayList<>();
        for (DataRecord r : d.records()) {
            for (DataRecord.Preference p : RankingPairs.expand((DataRecord.Ranking) r)) {
                out.add(RecordJson.toJson(p));
            }
        }
        return out;
    }
}
