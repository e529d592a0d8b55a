package org.align4j.data.jsonl;

import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Streams a JSON Lines file one line at a time with its 1-based line number; memory does not
 * grow with the file. Blank lines are skipped. A line that is not JSON is returned with its
 * parse error rather than thrown, so a validator can report every bad line.
 */
public final class JsonlReader implements Closeable {

    /** One non-blank line: either parsed JSON or the parse error. */
    public record Line(long number, JsonNode json, String error) {
        public boolean ok() {
            return error == null;
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path path;
    private final BufferedReader reader;
    private long lineNumber;

    public JsonlReader(Path path) throws IOException {
        if (!Files.isRegularFile(path)) {
            throw new IOException(path + ": no such file");
        }
        this.path = path;
        var decoder = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        this.reader = new BufferedReader(new java.io.InputStreamReader(Files.newInputStream(path), decoder), 1 << 16);
    }

    public Path path() {
        return path;
    }

    /** The next non-blank line, or null at the end of the file. */
    public Line next() throws IOException {
        while (true) {
            String s;
            try {
                s = reader.readLine();
            } catch (CharacterCodingException e) {
                throw new IOException(path + ":" + (lineNumber + 1) + ": not valid UTF-8", e);
            }
            if (s == null) {
                return null;
            }
            lineNumber++;
            if (lineNumber == 1 && !s.isEmpty() && s.charAt(0) == '\uFEFF') {
                s = s.substring(1); // byte-order mark
            }
            if (s.isBlank()) {
                continue;
            }
            try {
                return new Line(lineNumber, JSON.readTree(s), null);
            } catch (com.fasterxml.jackson.core.JacksonException e) {
                return new Line(lineNumber, null, clean(e.getOriginalMessage()));
            }
        }
    }

    /** Jackson's message without its "(start marker at [Source: ...])" location noise. */
    static String clean(String message) {
        return message == null ? "malformed" : message.replaceAll("\\s*\\(start marker at \\[Source:.*", "")
                .replaceAll("\\s*at \\[Source:.*", "").replace('\n', ' ').trim();
    }

    @Override
    public void close() throws IOException {
        reader.close();
    }
}
