package org.align4j.data.prepare;

import org.align4j.core.util.UserInputException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.data.format.DataException;
import org.align4j.data.format.Problem;
import org.align4j.data.format.ProblemKind;
import org.align4j.data.jsonl.JsonlReader;

/**
 * Train/validation/test splits of a JSONL file: shuffled from one seed, optionally stratified
 * by a field (label proportions kept in every part) and deduplicated on the prompt (or text).
 * Proportions are applied per stratum with cumulative rounding, so part sizes differ from the
 * exact fractions by less than one record per stratum.
 */
public final class DataSplit {

    /** The parts, and how many duplicates were dropped. */
    public record Result(List<JsonNode> train, List<JsonNode> val, List<JsonNode> test, int duplicatesDropped) {
    }

    private DataSplit() {
    }

    public static Result split(Path file, double train, double val, double test, long seed, String stratifyBy,
                               boolean dedup) throws IOException {
        double total = train + val + test;
        if (train < 0 || val < 0 || test < 0 || Math.abs(total - 1.0) > 1e-6) {
            throw new UserInputException("--train, --val and --test must be >= 0 and add up to 1, got " + total);
        }
        List<JsonNode> rows = new ArrayList<>();
        List<Problem> problems = new ArrayList<>();
        int dropped = 0;
        Set<String> keys = new HashSet<>();
        try (JsonlReader in = new JsonlReader(file)) {
            JsonlReader.Line line;
            while ((line = in.next()) != null) {
                if (!line.ok()) {
                    problems.add(new Problem(file.toString(), line.number(), ProblemKind.NOT_JSON, line.error()));
                    continue;
                }
                if (stratifyBy != null && !line.json().has(stratifyBy)) {
                    problems.add(new Problem(file.toString(), line.number(), ProblemKind.MISSING_FIELD,
                            "missing field '" + stratifyBy + "' to stratify by"));
                    continue;
                }
                if (dedup && !keys.add(dedupKey(line.json()))) {
                    dropped++;
                    continue;
                }
                rows.add(line.json());
            }
        }
        if (!problems.isEmpty()) {
            throw new DataException(file + ": cannot split:", problems);
        }
        Map<String, List<JsonNode>> strata = new LinkedHashMap<>();
        for (JsonNode r : rows) {
            String key = stratifyBy == null ? "" : r.get(stratifyBy).toString();
            strata.computeIfAbsent(key, k -> new ArrayList<>()).add(r);
        }
        Random rng = new Random(seed);
        List<JsonNode> a = new ArrayList<>();
        List<JsonNode> b = new ArrayList<>();
        List<JsonNode> c = new ArrayList<>();
        for (List<JsonNode> group : strata.values()) {
            Collections.shuffle(group, rng);
            int n = group.size();
            int nTrain = (int) Math.round(n * train);
            int nVal = (int) Math.round(n * (train + val)) - nTrain;
            a.addAll(group.subList(0, nTrain));
            b.addAll(group.subList(nTrain, nTrain + nVal));
            c.addAll(group.subList(nTrain + nVal, n));
        }
        // mix the strata again so that a part is not sorted by label
        Collections.shuffle(a, rng);
        Collections.shuffle(b, rng);
        Collections.shuffle(c, rng);
        return new Result(a, b, c, dropped);
    }

    /** The prompt, else the text, else the non-assistant messages. */
    static String dedupKey(JsonNode r) {
        if (r.has("prompt")) {
            return "p" + r.get("prompt");
        }
        if (r.has("text")) {
            return "t" + r.get("text");
        }
        if (r.has("messages") && r.get("messages").isArray()) {
            StringBuilder sb = new StringBuilder("m");
            for (JsonNode m : r.get("messages")) {
                if (!"assistant".equals(m.path("role").asText())) {
                    sb.append(m);
                }
            }
            return sb.toString();
        }
        return "r" + r;
    }
}
