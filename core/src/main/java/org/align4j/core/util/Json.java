package org.align4j.core.util;

import java.io.IOException;
import java.nio.file.Path;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.cfg.EnumFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The project's Jackson mapper. Records are written and read under snake_case names (the
 * names of config files, trainer state and metrics); unknown keys and nulls for primitives are
 * errors, so a typo in a config file is reported rather than ignored. Plain trees
 * ({@code readTree}, {@code createObjectNode}) are unaffected by the naming strategy.
 */
public final class Json {

    public static final ObjectMapper MAPPER = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            // enums as users type them: "cosine", not "COSINE"
            .configure(EnumFeature.WRITE_ENUMS_TO_LOWERCASE, true)
            .configure(MapperFeature.ACCEPT_CASE_INSENSITIVE_ENUMS, true);

    private Json() {
    }

    /** Reads a settings file holding one JSON object; errors name the file (and the line of a syntax error). */
    public static ObjectNode readObjectFile(Path file) throws IOException {
        InputFiles.requireReadableFile(file);
        JsonNode node;
        try {
            node = MAPPER.readTree(file.toFile());
        } catch (JacksonException e) {
            throw new IOException(file + ":" + e.getLocation().getLineNr() + ": not valid JSON: "
                    + e.getOriginalMessage());
        }
        if (node == null || !node.isObject()) {
            throw new IOException(file + ": expected a JSON object of settings");
        }
        return (ObjectNode) node;
    }
}
