package org.align4j.serve.files;

import java.util.List;
import java.util.function.Function;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;

import org.align4j.core.util.Json;
import org.align4j.serve.ApiError;

/** OpenAI's cursor pagination: {@code ?after=ID&limit=N}, answered as a list object with {@code has_more}. */
public final class Pages {

    private Pages() {
    }

    /** The {@code limit} query parameter, 1..{@code max}, or {@code dflt} when absent. */
    public static int limit(Context ctx, int dflt, int max) {
        String v = ctx.queryParam("limit");
        if (v == null) {
            return dflt;
        }
        try {
            int n = Integer.parseInt(v.trim());
            if (n >= 1 && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw ApiError.invalid("limit", "Invalid 'limit': expected a whole number from 1 to " + max + ", got '" + v
                + "'.");
    }

    /**
     * A list object of the first {@code limit} of {@code rows} (fetched with one extra to know
     * {@code has_more}), each rendered by {@code render}, with the first and last ids.
     */
    public static <T> ObjectNode list(List<T> rows, int limit, Function<T, ObjectNode> render) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("object", "list");
        ArrayNode data = o.putArray("data");
        List<T> page = rows.subList(0, Math.min(limit, rows.size()));
        for (T r : page) {
            data.add(render.apply(r));
        }
        o.put("has_more", rows.size() > limit);
        o.put("first_id", page.isEmpty() ? null : data.get(0).path("id").asText());
        o.put("last_id", page.isEmpty() ? null : data.get(data.size() - 1).path("id").asText());
        return o;
    }
}
