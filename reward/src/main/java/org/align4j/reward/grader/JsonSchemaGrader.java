package org.align4j.reward.grader;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;

import org.align4j.core.util.Json;

/** align4j's {@code json_schema}: 1 when the input (the response by default) is one JSON value matching the schema, else 0. */
public record JsonSchemaGrader(String name, Template input, JsonSchema schema) implements Grader {

    private static final ObjectReader STRICT = Json.MAPPER.reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    @Override
    public double grade(GraderInput in) throws GraderException {
        String text = input.render(in).strip();
        JsonNode v;
        try {
            v = STRICT.readTree(text);
        } catch (JacksonException e) {
            return 0;
        }
        return v != null && !v.isMissingNode() && schema.matches(v) ? 1 : 0;
    }

    @Override
    public String checkItem(JsonNode item) {
        return input.missing(item);
    }

    @Override
    public String describe() {
        return "json_schema: 1 when " + (input == Template.OUTPUT_TEXT ? "the response" : input)
                + " parses as JSON and matches the schema, else 0";
    }
}
