package org.align4j.data.jsonl;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.align4j.core.util.InputFiles;
import org.align4j.core.util.Utf8;

/**
 * Streams a JSON Lines file one line at a time with its 1-based line number; memory does not
 * grow with the file. Blank lines are skipped. A line that is not JSON is returned with its
 * parse error rather than thrown, so a validator can report every bad line. Lines are split on
 * bytes and each is decoded strictly on its own, so invalid UTF-8 is reported at its own line
 * and byte column (a decoder reading ahead would blame the line it happened to be on).
 */
public final class JsonlReader implements Closeable {

    /** One non-blank line: either parsed JSON or the parse error. */
    public record Line(long number, JsonNode json, String error) {
        public boolean ok() {
            return error == null;
        }
    }

    /**
     * A line that is not valid UTF-8, with its number; the line is consumed, so a reader that reports
     * every problem (the validator) may go on with the next one.
     */
    public static final class InvalidUtf8Exception extends IOException {
        private final long line;
        private final String detail;

        InvalidUtf8Exception(Path path, long line, String detail) {
            super(path + ":" + line + ": " + detail);
            this.line = line;
            this.detail = detail;
        }

        public long line() {
            return line;
        }

        /** What is wrong, without the file and line. */
        public String detail() {
            return detail;
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path path;
    private final InputStream in;
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    private final byte[] buf = new byte[1 << 16];
    private int pos;
    private int end;
    private byte[] line = new byte[256];
    private long lineNumber;

    public JsonlReader(Path path) throws IOException {
        InputFiles.requireReadableFile(path);
        this.path = path;
        this.in = Files.newInputStream(path);
    }

    /** The next line's text without its end-of-line, or null at the end; decoded strictly. */
    private String readLine() throws IOException {
        int n = 0;
        boolean newline = false;
        while (!newline) {
            if (pos == end) {
                end = in.read(buf);
                pos = 0;
                if (end <= 0) {
                    end = 0;
                    break;
                }
            }
            int start = pos;
            while (pos < end && buf[pos] != '\n') {
                pos++;
            }
            int len = pos - start;
            if (n + len > line.length) {
                line = java.util.Arrays.copyOf(line, Math.max(line.length * 2, n + len));
            }
            System.arraycopy(buf, start, line, n, len);
            n += len;
            if (pos < end) {
                pos++; // the newline
                newline = true;
            }
        }
        if (!newline && n == 0) {
            return null;
        }
        lineNumber++;
        if (n > 0 && line[n - 1] == '\r') {
            n--;
        }
        int bad = Utf8.firstInvalid(line, n);
        if (bad >= 0) {
            throw new InvalidUtf8Exception(path, lineNumber, "not valid UTF-8 (byte " + (bad + 1) + " of the line is "
                    + String.format("0x%02x)", line[bad] & 0xff));
        }
        return decoder.reset().decode(ByteBuffer.wrap(line, 0, n)).toString();
    }

    public Path path() {
        return path;
    }

    /** The next non-blank line, or null at the end of the file. */
    public Line next() throws IOException {
        while (true) {
            String s = readLine();
            if (s == null) {
                return null;
            }
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
        in.close();
    }
}
