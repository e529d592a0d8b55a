package org.align4j.data.jsonl;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.align4j.core.util.AtomicFiles;

/** Writes whole JSONL files atomically (a reader never sees half a file). */
public final class JsonlWriter {

    private static final ObjectMapper JSON = new ObjectMapper();

    private JsonlWriter() {
    }

    public static void write(Path file, List<? extends JsonNode> rows) throws IOException {
        AtomicFiles.write(file, out -> {
            BufferedWriter w = new BufferedWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8));
            for (JsonNode n : rows) {
                w.write(JSON.writeValueAsString(n));
                w.write('\n');
            }
            w.flush();
        });
    }
}
