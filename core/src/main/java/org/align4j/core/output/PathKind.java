package org.align4j.core.output;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.checkpoint.PeftAdapter;
import org.align4j.core.tokenizer.TokenizerFiles;
import org.align4j.core.util.Json;

/**
 * What an existing path is, recognised by what it holds, so that an output about to replace it
 * can say what would be lost ("runs/x: is a run directory"). Files are recognised by their first
 * JSON line: the formats of align4j's own stores and artifacts are told apart by their fields.
 */
public enum PathKind {
    MISSING("nothing"),
    EMPTY_DIRECTORY("an empty directory"),
    EMPTY_FILE("an empty file"),
    MODEL("a model directory"),
    ADAPTER("a LoRA adapter directory"),
    RUN("a run directory"),
    PIPELINE("a pipeline directory"),
    TOKENIZER("a tokenizer directory"),
    COMPARISON("a comparison directory (compare)"),
    DIRECTORY("a directory holding other files"),
    FILE_OF_MODEL("a file of a model directory"),
    FILE_OF_RUN("a file of a run directory"),
    FILE_OF_PIPELINE("a file of a pipeline directory"),
    JUDGMENTS("a judgments store"),
    TASKS("a label task file"),
    METRICS("a run's metrics.jsonl"),
    SAMPLES("a policy's samples (compare)"),
    DATA("a JSONL data file"),
    IMAGE("a PNG image"),
    FILE("a file");

    /** The lock file a writer holds inside a directory; it does not make a directory non-empty. */
    public static final String LOCK_FILE = ".lock";
    /** The marker of a pipeline directory (its recorded settings). */
    public static final String PIPELINE_MARKER = "pipeline.json";
    /** The marker of a comparison directory. */
    public static final String COMPARISON_MARKER = "comparison.json";

    /** Files only a run directory holds; CANCEL may come first (a run cancelled before it starts). */
    private static final Set<String> RUN_MARKERS = Set.of("events.jsonl", "metrics.jsonl", "checkpoints", "CANCEL");
    private static final byte[] PNG = {(byte) 0x89, 'P', 'N', 'G'};

    private final String description;

    PathKind(String description) {
        this.description = description;
    }

    /** How a message names it: "a run directory". */
    public String description() {
        return description;
    }

    /** Nothing there, or nothing of value: an output may be written there without asking. */
    public boolean isVacant() {
        return this == MISSING || this == EMPTY_DIRECTORY || this == EMPTY_FILE;
    }

    public static PathKind of(Path p) {
        if (!Files.exists(p)) {
            return MISSING;
        }
        try {
            return Files.isDirectory(p) ? ofDirectory(p) : ofFile(p);
        } catch (IOException e) {
            // unreadable: it is something, and nothing says it may go
            return Files.isDirectory(p) ? DIRECTORY : FILE;
        }
    }

    private static PathKind ofDirectory(Path d) throws IOException {
        if (Files.exists(d.resolve(PeftAdapter.CONFIG))) {
            return ADAPTER;
        }
        if (Files.exists(d.resolve(ModelDirectory.WEIGHTS)) || Files.exists(d.resolve(ModelDirectory.WEIGHTS_INDEX))) {
            return MODEL;
        }
        // pipeline.json alone may be a pipeline's config file; a pipeline directory also holds its state or task
        if (Files.exists(d.resolve(PIPELINE_MARKER))
                && (Files.exists(d.resolve("state.json")) || Files.isDirectory(d.resolve("task")))) {
            return PIPELINE;
        }
        if (Files.exists(d.resolve(ModelDirectory.CONFIG)) || RUN_MARKERS.stream().anyMatch(m -> Files.exists(d.resolve(m)))) {
            return RUN;
        }
        if (Files.exists(d.resolve(COMPARISON_MARKER))) {
            return COMPARISON;
        }
        if (Files.exists(d.resolve(TokenizerFiles.TOKENIZER_JSON)) || Files.exists(d.resolve(TokenizerFiles.VOCAB_JSON))) {
            return TOKENIZER;
        }
        try (Stream<Path> s = Files.list(d)) {
            return s.allMatch(e -> e.getFileName().toString().equals(LOCK_FILE)) ? EMPTY_DIRECTORY : DIRECTORY;
        }
    }

    private static PathKind ofFile(Path f) throws IOException {
        if (Files.size(f) == 0) {
            return EMPTY_FILE;
        }
        byte[] head = new byte[PNG.length];
        try (InputStream in = Files.newInputStream(f)) {
            if (in.readNBytes(head, 0, head.length) == head.length && Arrays.equals(head, PNG)) {
                return IMAGE;
            }
        }
        JsonNode first = firstJsonObject(f);
        if (first != null) {
            if (first.has("task_id") && first.has("annotator")) {
                return JUDGMENTS;
            }
            if (first.has("id") && first.has("prompt") && first.path("responses").isArray()) {
                return TASKS;
            }
            if (f.getFileName().toString().equals("metrics.jsonl") && first.has("step")) {
                return METRICS;
            }
            if (first.has("response") && first.has("gold_score")) {
                return SAMPLES;
            }
        }
        Path parent = f.toAbsolutePath().getParent();
        PathKind dir = parent == null ? DIRECTORY : ofDirectory(parent);
        if (dir == MODEL || dir == ADAPTER || dir == TOKENIZER) {
            return FILE_OF_MODEL;
        }
        if (dir == RUN) {
            return FILE_OF_RUN;
        }
        if (dir == PIPELINE) {
            return FILE_OF_PIPELINE;
        }
        return first != null ? DATA : FILE;
    }

    /** The first non-blank line parsed as a JSON object, or null when it is not one (not JSONL). */
    private static JsonNode firstJsonObject(Path f) throws IOException {
        try (BufferedReader r = Files.newBufferedReader(f, StandardCharsets.UTF_8)) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.isBlank()) {
                    continue;
                }
                try {
                    JsonNode n = Json.MAPPER.readTree(line);
                    return n != null && n.isObject() ? n : null;
                } catch (com.fasterxml.jackson.core.JacksonException notJson) {
                    return null;
                }
            }
        } catch (java.nio.charset.CharacterCodingException binary) {
            return null;
        }
        return null;
    }
}
