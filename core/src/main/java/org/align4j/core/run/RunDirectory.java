package org.align4j.core.run;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.util.AtomicFiles;

/**
 * A training run's directory: the resolved {@code config.json}, {@code metrics.jsonl} (one
 * object per logged step), {@code events.jsonl} (status changes), {@code checkpoints/step-N/},
 * {@code best/} and {@code final/}. Appends are flushed line by line; events are fsynced.
 */
public final class RunDirectory {

    /** Job states, as OpenAI's fine-tuning jobs name them. */
    public enum Status { PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED }

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Reads NaN and Infinity as numbers, so a tool that reports them can say on which line they are. */
    private static final ObjectMapper LENIENT = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

    /** One row of a JSONL file of the run, with its 1-based line number. */
    public record Row(long line, JsonNode json) {
    }

    private final Path root;

    public RunDirectory(Path root) {
        this.root = root;
    }

    public Path root() {
        return root;
    }

    public Path configFile() {
        return root.resolve("config.json");
    }

    public Path metricsFile() {
        return root.resolve("metrics.jsonl");
    }

    public Path eventsFile() {
        return root.resolve("events.jsonl");
    }

    public Path checkpointsDir() {
        return root.resolve("checkpoints");
    }

    public Path bestDir() {
        return root.resolve("best");
    }

    public Path finalDir() {
        return root.resolve("final");
    }

    /** Present while a cancellation is requested; the trainer checkpoints, records CANCELLED and removes it. */
    public Path cancelFile() {
        return root.resolve("CANCEL");
    }

    public boolean exists() {
        return Files.isRegularFile(eventsFile()) || Files.isRegularFile(configFile());
    }

    public void create() throws IOException {
        Files.createDirectories(root);
    }

    public void writeConfig(JsonNode config) throws IOException {
        AtomicFiles.writeString(configFile(), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(config) + "\n");
    }

    public void appendMetrics(ObjectNode row) throws IOException {
        append(metricsFile(), JSON.writeValueAsString(row), false);
    }

    public void appendEvent(Status status, String message) throws IOException {
        ObjectNode e = JSON.createObjectNode();
        e.put("time", Instant.now().toString());
        e.put("status", status.name().toLowerCase(java.util.Locale.ROOT));
        e.put("message", message);
        append(eventsFile(), JSON.writeValueAsString(e), true);
    }

    private static void append(Path file, String line, boolean sync) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND)) {
            ByteBuffer b = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8));
            while (b.hasRemaining()) {
                ch.write(b);
            }
            if (sync) {
                ch.force(true);
            }
        }
    }

    /** Metric rows of steps after {@code step} are dropped (a resumed run logs them again). */
    public void truncateMetricsAfter(long step) throws IOException {
        if (!Files.isRegularFile(metricsFile())) {
            return;
        }
        StringBuilder kept = new StringBuilder();
        for (JsonNode row : readJsonl(metricsFile())) {
            if (row.path("step").asLong() <= step) {
                kept.append(JSON.writeValueAsString(row)).append('\n');
            }
        }
        AtomicFiles.writeString(metricsFile(), kept.toString());
    }

    public List<JsonNode> metrics() throws IOException {
        return Files.isRegularFile(metricsFile()) ? readJsonl(metricsFile()) : List.of();
    }

    /** The rows of metrics.jsonl with their line numbers. */
    public List<Row> metricRows() throws IOException {
        return Files.isRegularFile(metricsFile()) ? readRows(metricsFile()) : List.of();
    }

    public List<JsonNode> events() throws IOException {
        return Files.isRegularFile(eventsFile()) ? readJsonl(eventsFile()) : List.of();
    }

    /** The last recorded status, or null for a directory that is not a run. */
    public Status status() throws IOException {
        List<JsonNode> ev = events();
        if (ev.isEmpty()) {
            return null;
        }
        return Status.valueOf(ev.get(ev.size() - 1).path("status").asText().toUpperCase(java.util.Locale.ROOT));
    }

    public void requestCancel() throws IOException {
        AtomicFiles.writeString(cancelFile(), Instant.now() + "\n");
    }

    public boolean cancelRequested() {
        return Files.exists(cancelFile());
    }

    public void clearCancel() throws IOException {
        Files.deleteIfExists(cancelFile());
    }

    /** Reads a JSONL file; a torn last line (a crash mid-write) is ignored. */
    static List<JsonNode> readJsonl(Path file) throws IOException {
        return readRows(file).stream().map(Row::json).toList();
    }

    /** Reads a JSONL file with line numbers; a torn last line is ignored, any other bad line named by FILE:LINE. */
    static List<Row> readRows(Path file) throws IOException {
        List<Row> rows = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            long number = 0;
            while ((line = r.readLine()) != null) {
                number++;
                if (line.isBlank()) {
                    continue;
                }
                try {
                    rows.add(new Row(number, LENIENT.readTree(line)));
                } catch (com.fasterxml.jackson.core.JacksonException torn) {
                    // only the last line can be torn by a crash; anything else is reported
                    if (r.readLine() != null) {
                        throw new IOException(file + ":" + number + ": corrupt line: " + torn.getOriginalMessage());
                    }
                }
            }
        }
        return rows;
    }
}
