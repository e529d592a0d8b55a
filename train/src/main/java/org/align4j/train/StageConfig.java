package org.align4j.train;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.util.Json;

/**
 * A stage's whole configuration: the shared {@link TrainingOptions} and the stage's own options
 * record, stored as one flat JSON object whose keys are the option names in snake_case. Settings
 * resolve in this order: the stage's defaults, then a {@code --config} file, then the flags given
 * on the command line. No stage maps names by hand: the keys are the records' components.
 */
public record StageConfig<S>(TrainingOptions training, S stage) {

    /** The flat JSON of both records, as written to {@code RUN_DIR/config.json}. */
    public ObjectNode toJson() {
        ObjectNode o = Json.MAPPER.valueToTree(training);
        o.setAll((ObjectNode) Json.MAPPER.valueToTree(stage));
        return o;
    }

    /** The defaults of a stage as one flat object. */
    public static ObjectNode defaults(TrainingOptions training, Object stage) {
        return new StageConfig<>(training, stage).toJson();
    }

    /**
     * Overlays {@code configFile} (may be null) and then {@code flags} (snake_case keys) on
     * {@code defaults} and reads both records. An unknown key, a value of the wrong type, or a
     * value out of range is an error naming the file or the option.
     */
    public static <S> StageConfig<S> resolve(ObjectNode defaults, Class<S> stageType, Path configFile,
                                             Map<String, JsonNode> flags, boolean needsTrainFile) throws IOException {
        ObjectNode file = configFile == null ? null : Json.readObjectFile(configFile);
        return resolve(defaults, stageType, file, configFile == null ? "settings" : configFile.toString(), flags,
                needsTrainFile);
    }

    /**
     * As {@link #resolve(ObjectNode, Class, Path, Map, boolean)} with the settings already read:
     * {@code overlay} (may be null) comes from {@code where}, which every error names (a file, or
     * a file and a section of it).
     */
    public static <S> StageConfig<S> resolve(ObjectNode defaults, Class<S> stageType, ObjectNode overlay,
                                             String where, Map<String, JsonNode> flags, boolean needsTrainFile)
            throws IOException {
        ObjectNode tree = defaults.deepCopy();
        Map<String, SettingRanges.Entry> ranges = SettingRanges.of(TrainingOptions.class, stageType);
        List<String> outOfRange = new ArrayList<>();
        if (overlay != null) {
            outOfRange.addAll(SettingRanges.check(overlay, ranges, where));
        }
        flags.forEach((k, v) -> {
            SettingRanges.Entry r = ranges.get(k);
            String p = r != null && v.isNumber() ? r.problem(v.asDouble()) : null;
            if (p != null) {
                outOfRange.add("--" + k.replace('_', '-') + " " + p + ", got " + v.asText());
            }
        });
        if (overlay != null) {
            Iterator<Map.Entry<String, JsonNode>> it = overlay.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!tree.has(e.getKey())) {
                    throw new IOException(where + ": unknown setting '" + e.getKey() + "'; known settings: "
                            + String.join(", ", new TreeSet<>(keys(tree))));
                }
                tree.set(e.getKey(), e.getValue());
            }
        }
        flags.forEach((k, v) -> {
            if (!tree.has(k)) {
                throw new IllegalStateException("option --" + k.replace('_', '-') + " has no setting in " + stageType);
            }
            tree.set(k, v);
        });
        // out of range (a fraction for a whole number, infinity) before the reader rounds or accepts it
        if (!outOfRange.isEmpty()) {
            throw new SettingsException(outOfRange);
        }
        Set<String> given = given(defaults, overlay, flags);
        StageConfig<S> c = new StageConfig<>(read(tree, TrainingOptions.class, where), read(tree, stageType, where));
        List<String> problems = new ArrayList<>(c.training().problems(needsTrainFile));
        if (c.stage() instanceof Validated v) {
            problems.addAll(v.problems());
            problems.addAll(v.unused(given));
        }
        if (!problems.isEmpty()) {
            throw new SettingsException(problems);
        }
        return c;
    }

    /**
     * The settings the user gave: every flag typed, and a config file's keys whose value is not the
     * default (a run's whole config.json, reused as --config, gives nothing it did not change).
     */
    private static Set<String> given(ObjectNode defaults, ObjectNode overlay, Map<String, JsonNode> flags) {
        Set<String> given = new TreeSet<>(flags.keySet());
        if (overlay != null) {
            overlay.fields().forEachRemaining(e -> {
                JsonNode d = defaults.path(e.getKey());
                JsonNode v = e.getValue();
                boolean same = d.isNumber() && v.isNumber() ? sameNumber(d, v)
                        : d.isMissingNode() ? v.isNull() : d.equals(v);
                if (!same) {
                    given.add(e.getKey());
                }
            });
        }
        return given;
    }

    /** Equal as numbers (1 and 1.0 alike); a non-finite value (a setting without a range) equals only itself. */
    private static boolean sameNumber(JsonNode a, JsonNode b) {
        if (!Double.isFinite(a.asDouble()) || !Double.isFinite(b.asDouble())) {
            return Double.compare(a.asDouble(), b.asDouble()) == 0;
        }
        return a.decimalValue().compareTo(b.decimalValue()) == 0;
    }

    /** Reads a config as saved in a run directory (for the check on resume). */
    public static <S> StageConfig<S> read(JsonNode tree, Class<S> stageType) throws IOException {
        return new StageConfig<>(read(tree, TrainingOptions.class, "config.json"), read(tree, stageType, "config.json"));
    }

    private static <T> T read(JsonNode tree, Class<T> type, String where) throws IOException {
        try {
            return Json.MAPPER.readerFor(type).without(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                    .readValue(tree);
        } catch (JacksonException e) {
            String field = e instanceof JsonMappingException m && !m.getPath().isEmpty()
                    ? m.getPath().get(m.getPath().size() - 1).getFieldName() : null;
            String expected = e instanceof MismatchedInputException m && field != null
                    ? expected(m.getTargetType(), field, tree.get(field)) : null;
            throw new IOException(where + ": " + (field == null ? "" : "setting '" + field + "' (--"
                    + field.replace('_', '-') + ")") + (expected != null ? " " + expected
                    : (field == null ? "" : ": ") + e.getOriginalMessage()));
        }
    }

    /** What a setting of this type looks like, with an example made of the value given; null if unknown. */
    static String expected(Class<?> type, String key, JsonNode given) {
        if (type == null) {
            return null;
        }
        String got = ", got " + given;
        if (Collection.class.isAssignableFrom(type)) {
            List<String> items = given != null && given.isTextual() ? List.of(given.asText().split(","))
                    : List.of("...");
            return "must be a JSON list of strings, e.g. \"" + key + "\": " + Json.MAPPER.valueToTree(items.stream()
                    .map(String::trim).toList()) + got;
        }
        if (type.isEnum()) {
            return "must be one of " + String.join(", ", Arrays.stream(type.getEnumConstants())
                    .map(c -> c.toString().toLowerCase(Locale.ROOT)).toList()) + got;
        }
        if (type == int.class || type == Integer.class || type == long.class || type == Long.class) {
            return "must be a whole number, e.g. \"" + key + "\": 1" + got;
        }
        if (type == double.class || type == Double.class) {
            return "must be a number, e.g. \"" + key + "\": 0.5" + got;
        }
        if (type == boolean.class || type == Boolean.class) {
            return "must be true or false" + got;
        }
        if (type == String.class) {
            return "must be a string, e.g. \"" + key + "\": \"...\"" + got;
        }
        return null;
    }

    private static Set<String> keys(ObjectNode tree) {
        Set<String> k = new TreeSet<>();
        tree.fieldNames().forEachRemaining(k::add);
        return k;
    }

    /** A stage options record that checks its own values. */
    public interface Validated {
        /** Problems, each naming its option; empty when the values are fine. */
        List<String> problems();

        /**
         * Settings in {@code given} (snake_case keys the user set: a flag, or a config file's value
         * other than the default) that these settings never use, each naming its option: a setting
         * given and silently ignored is a run other than the one asked for. None by default.
         */
        default List<String> unused(Set<String> given) {
            return List.of();
        }
    }
}
