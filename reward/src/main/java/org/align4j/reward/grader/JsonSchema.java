package org.align4j.reward.grader;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The subset of JSON Schema a {@code json_schema} grader checks: type (a name or a list of them),
 * properties, required, additionalProperties (true, false or a schema), items, enum, minimum,
 * maximum, minLength, maxLength; title and description are notes. Any other keyword is refused
 * when the grader is read, so a schema never passes because a keyword was silently skipped.
 */
public final class JsonSchema {

    private static final Set<String> KEYWORDS = Set.of("type", "properties", "required", "additionalProperties",
            "items", "enum", "minimum", "maximum", "minLength", "maxLength", "title", "description");
    private static final Set<String> TYPES = Set.of("object", "array", "string", "number", "integer", "boolean",
            "null");

    private final Set<String> types;
    private final Map<String, JsonSchema> properties = new LinkedHashMap<>();
    private final List<String> required = new ArrayList<>();
    private final Boolean additionalAllowed;
    private final JsonSchema additional;
    private final JsonSchema items;
    private final JsonNode enumValues;
    private final Double minimum;
    private final Double maximum;
    private final Integer minLength;
    private final Integer maxLength;

    /** Compiles a schema; a mistake is an IllegalArgumentException naming its JSON path under {@code path}. */
    public static JsonSchema compile(JsonNode schema, String path) {
        return new JsonSchema(schema, path);
    }

    private JsonSchema(JsonNode s, String path) {
        if (!s.isObject()) {
            throw new IllegalArgumentException(path + ": a schema must be a JSON object");
        }
        for (Iterator<String> it = s.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!KEYWORDS.contains(k)) {
                throw new IllegalArgumentException(path + "." + k + ": keyword not supported (supported: "
                        + String.join(", ", KEYWORDS.stream().sorted().toList()) + ")");
            }
        }
        JsonNode t = s.get("type");
        if (t == null) {
            types = null;
        } else {
            types = new LinkedHashSet<>();
            for (JsonNode n : t.isArray() ? t : List.of(t)) {
                if (!n.isTextual() || !TYPES.contains(n.asText())) {
                    throw new IllegalArgumentException(path + ".type: " + n + " is not a type (" + String.join(", ",
                            TYPES.stream().sorted().toList()) + ")");
                }
                types.add(n.asText());
            }
        }
        JsonNode p = s.get("properties");
        if (p != null) {
            if (!p.isObject()) {
                throw new IllegalArgumentException(path + ".properties: must be an object of schemas");
            }
            p.fields().forEachRemaining(e -> properties.put(e.getKey(),
                    new JsonSchema(e.getValue(), path + ".properties." + e.getKey())));
        }
        JsonNode r = s.get("required");
        if (r != null) {
            if (!r.isArray()) {
                throw new IllegalArgumentException(path + ".required: must be an array of property names");
            }
            for (JsonNode n : r) {
                if (!n.isTextual()) {
                    throw new IllegalArgumentException(path + ".required: " + n + " is not a property name");
                }
                required.add(n.asText());
            }
        }
        JsonNode a = s.get("additionalProperties");
        if (a == null || a.isBoolean()) {
            additionalAllowed = a == null ? null : a.asBoolean();
            additional = null;
        } else {
            additionalAllowed = null;
            additional = new JsonSchema(a, path + ".additionalProperties");
        }
        items = s.has("items") ? new JsonSchema(s.get("items"), path + ".items") : null;
        enumValues = s.get("enum");
        if (enumValues != null && (!enumValues.isArray() || enumValues.isEmpty())) {
            throw new IllegalArgumentException(path + ".enum: must be a non-empty array of values");
        }
        minimum = number(s, "minimum", path);
        maximum = number(s, "maximum", path);
        minLength = count(s, "minLength", path);
        maxLength = count(s, "maxLength", path);
        for (String k : List.of("title", "description")) {
            if (s.has(k) && !s.get(k).isTextual()) {
                throw new IllegalArgumentException(path + "." + k + ": must be a string");
            }
        }
    }

    private static Double number(JsonNode s, String key, String path) {
        JsonNode n = s.get(key);
        if (n == null) {
            return null;
        }
        if (!n.isNumber()) {
            throw new IllegalArgumentException(path + "." + key + ": must be a number, got " + n);
        }
        return n.asDouble();
    }

    private static Integer count(JsonNode s, String key, String path) {
        JsonNode n = s.get(key);
        if (n == null) {
            return null;
        }
        if (!n.isIntegralNumber() || n.asLong() < 0 || n.asLong() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(path + "." + key + ": must be a whole number >= 0, got " + n);
        }
        return n.asInt();
    }

    /** Whether the value satisfies the schema. */
    public boolean matches(JsonNode v) {
        if (types != null && types.stream().noneMatch(t -> hasType(v, t))) {
            return false;
        }
        if (enumValues != null) {
            boolean found = false;
            for (JsonNode e : enumValues) {
                found |= equal(e, v);
            }
            if (!found) {
                return false;
            }
        }
        if (v.isNumber()) {
            if (minimum != null && v.asDouble() < minimum || maximum != null && v.asDouble() > maximum) {
                return false;
            }
        }
        if (v.isTextual()) {
            int n = v.asText().codePointCount(0, v.asText().length());
            if (minLength != null && n < minLength || maxLength != null && n > maxLength) {
                return false;
            }
        }
        if (v.isObject()) {
            for (String r : required) {
                if (!v.has(r)) {
                    return false;
                }
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                JsonSchema ps = properties.get(e.getKey());
                if (ps != null) {
                    if (!ps.matches(e.getValue())) {
                        return false;
                    }
                } else if (Boolean.FALSE.equals(additionalAllowed)
                        || additional != null && !additional.matches(e.getValue())) {
                    return false;
                }
            }
        }
        if (v.isArray() && items != null) {
            for (JsonNode e : v) {
                if (!items.matches(e)) {
                    return false;
                }
            }
        }
        return true;
    }

    private static boolean hasType(JsonNode v, String t) {
        return switch (t) {
            case "object" -> v.isObject();
            case "array" -> v.isArray();
            case "string" -> v.isTextual();
            case "number" -> v.isNumber();
            // JSON Schema: an integer is a number without a fractional part, 1.0 included
            case "integer" -> v.isIntegralNumber() || v.isNumber() && v.asDouble() == Math.rint(v.asDouble())
                    && Double.isFinite(v.asDouble());
            case "boolean" -> v.isBoolean();
            default -> v.isNull();
        };
    }

    /** JSON equality with numbers compared by value (1 equals 1.0). */
    private static boolean equal(JsonNode a, JsonNode b) {
        if (a.isNumber() && b.isNumber()) {
            return a.decimalValue().compareTo(b.decimalValue()) == 0;
        }
        return a.equals(b);
    }
}
