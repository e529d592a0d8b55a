package org.align4j.serve.infer;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.serve.ApiError;

/**
 * Typed reads of a request's JSON fields, each failure a 400 naming the field as OpenAI does
 * ({@code param} = "messages[1].content"). Absent and {@code null} mean "not given".
 */
final class Fields {

    private final JsonNode node;
    private final String prefix;

    private Fields(JsonNode node, String prefix) {
        this.node = node;
        this.prefix = prefix;
    }

    /** The request body: it must be a JSON object. */
    static Fields body(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw ApiError.invalid(null, "The request body must be a JSON object.");
        }
        return new Fields(body, "");
    }

    /** A nested object at {@code param} (its fields are named {@code param.field}). */
    static Fields object(JsonNode node, String param) {
        if (node == null || !node.isObject()) {
            throw ApiError.invalid(param, "'" + param + "' must be an object.");
        }
        return new Fields(node, param + ".");
    }

    String param(String field) {
        return prefix + field;
    }

    JsonNode raw(String field) {
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? null : v;
    }

    boolean has(String field) {
        return raw(field) != null;
    }

    String requiredString(String field) {
        String s = string(field, null);
        if (s == null) {
            throw ApiError.invalid(param(field), "Missing required parameter: '" + param(field) + "'.");
        }
        return s;
    }

    String string(String field, String otherwise) {
        JsonNode v = raw(field);
        if (v == null) {
            return otherwise;
        }
        if (!v.isTextual()) {
            throw wrongType(field, "a string", v);
        }
        return v.asText();
    }

    boolean bool(String field, boolean otherwise) {
        JsonNode v = raw(field);
        if (v == null) {
            return otherwise;
        }
        if (!v.isBoolean()) {
            throw wrongType(field, "a boolean", v);
        }
        return v.asBoolean();
    }

    /** A whole number in {@code [min, max]}. */
    Long integer(String field, long min, long max) {
        JsonNode v = raw(field);
        if (v == null) {
            return null;
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw wrongType(field, "an integer", v);
        }
        long x = v.asLong();
        if (x < min || x > max) {
            throw ApiError.invalid(param(field), "Invalid '" + param(field) + "': " + x + " is outside [" + min
                    + ", " + max + "].");
        }
        return x;
    }

    /** A number in {@code [min, max]}. */
    double number(String field, double otherwise, double min, double max) {
        JsonNode v = raw(field);
        if (v == null) {
            return otherwise;
        }
        if (!v.isNumber()) {
            throw wrongType(field, "a number", v);
        }
        double x = v.asDouble();
        if (!(x >= min && x <= max)) {
            throw ApiError.invalid(param(field), "Invalid '" + param(field) + "': " + x + " is outside [" + min
                    + ", " + max + "].");
        }
        return x;
    }

    /** {@code stop}: a string or a list of up to {@code max} strings. */
    List<String> stringOrList(String field, int max) {
        JsonNode v = raw(field);
        if (v == null) {
            return List.of();
        }
        if (v.isTextual()) {
            return List.of(v.asText());
        }
        if (!v.isArray()) {
            throw wrongType(field, "a string or an array of strings", v);
        }
        if (v.size() > max) {
            throw ApiError.invalid(param(field), "'" + param(field) + "' holds at most " + max + " strings.");
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            if (!v.get(i).isTextual()) {
                throw ApiError.invalid(param(field) + "[" + i + "]", "'" + param(field) + "[" + i
                        + "]' must be a string.");
            }
            out.add(v.get(i).asText());
        }
        return out;
    }

    /** Refuses fields that would change what the model does in a way align4j does not support. */
    void refuse(Set<String> unsupported) {
        for (String f : unsupported) {
            if (has(f) && !emptyValue(raw(f))) {
                throw ApiError.invalid(param(f), "'" + param(f) + "' is not supported by align4j serve.");
            }
        }
    }

    private static boolean emptyValue(JsonNode v) {
        return (v.isContainerNode() && v.isEmpty()) || (v.isNumber() && v.asDouble() == 0.0)
                || (v.isBoolean() && !v.asBoolean());
    }

    ApiError wrongType(String field, String expected, JsonNode got) {
        return ApiError.invalid(param(field), "Invalid type for '" + param(field) + "': expected " + expected
                + ", but got " + kind(got) + ".");
    }

    static String kind(JsonNode v) {
        if (v.isTextual()) {
            return "a string";
        }
        if (v.isBoolean()) {
            return "a boolean";
        }
        if (v.isIntegralNumber()) {
            return "an integer";
        }
        if (v.isNumber()) {
            return "a decimal";
        }
        if (v.isArray()) {
            return "an array";
        }
        return v.isObject() ? "an object" : "null";
    }
}
