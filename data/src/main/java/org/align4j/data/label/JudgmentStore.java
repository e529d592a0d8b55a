package org.align4j.data.label;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.output.WriterLock;
import org.align4j.core.util.InputFiles;
import org.align4j.core.util.UserInputException;
import org.align4j.data.jsonl.JsonlReader;

/**
 * The append-only file of judgments. Each judgment is one JSON line, written under a file lock
 * (several annotators may share a file) and fsynced before the call returns, so a judgment
 * the annotator has seen accepted survives a crash. Undo appends a retraction instead of
 * rewriting anything. A line torn by a crash mid-write is ignored on reading and sealed with a
 * newline before the next append.
 */
public final class JudgmentStore {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;

    public JudgmentStore(Path file) {
        this.file = file;
    }

    public Path file() {
        return file;
    }

    /**
     * Holds the store for one annotator while a session or a simulated annotator appends to it: two
     * writers for the same annotator would judge the same tasks twice, while different annotators
     * may share a store (each append is locked on its own). The lock file sits beside the store.
     */
    public WriterLock lock(String annotator) throws IOException {
        String name = "." + file.getFileName() + "." + annotator.replaceAll("[^A-Za-z0-9._-]", "_") + ".lock";
        return WriterLock.acquire(file.toAbsolutePath().resolveSibling(name), "judgments store " + file
                + " (annotator " + annotator + ")");
    }

    public Judgment append(String taskId, String annotator, Ranking ranking, List<String> flags, String rationale,
                           double seconds, List<Integer> displayOrder) throws IOException {
        return append(taskId, annotator, ranking, flags, rationale, seconds, displayOrder, Map.of());
    }

    /** Appends a judgment with per-response flags ({@code candidateFlags} by original index). */
    public Judgment append(String taskId, String annotator, Ranking ranking, List<String> flags, String rationale,
                           double seconds, List<Integer> displayOrder, Map<Integer, List<String>> candidateFlags)
            throws IOException {
        Judgment j = new Judgment(UUID.randomUUID().toString(), taskId, annotator, ranking, List.copyOf(flags),
                rationale, seconds, Instant.now().toString(), List.copyOf(displayOrder), candidateFlags);
        write(j.toJson());
        return j;
    }

    /**
     * Appends a binary judgment: response {@code response} of the task up ({@code label} true) or
     * down, or flagged ({@code label} null, a reason in {@code flags}); locked and fsynced as every
     * judgment.
     */
    public Judgment appendBinary(String taskId, String annotator, int response, Boolean label, List<String> flags,
                                 String rationale, double seconds) throws IOException {
        Judgment j = new Judgment(UUID.randomUUID().toString(), taskId, annotator, null, List.copyOf(flags), rationale,
                seconds, Instant.now().toString(), List.of(), response, label);
        write(j.toJson());
        return j;
    }

    /** Retracts a judgment (undo). */
    public void retract(Judgment j) throws IOException {
        ObjectNode o = JSON.createObjectNode();
        o.put("type", "retraction");
        o.put("id", UUID.randomUUID().toString());
        o.put("retracts", j.id());
        o.put("task_id", j.taskId());
        o.put("annotator", j.annotator());
        o.put("created_at", Instant.now().toString());
        write(o);
    }

    private void write(ObjectNode row) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        byte[] line = (JSON.writeValueAsString(row) + "\n").getBytes(StandardCharsets.UTF_8);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE); FileLock lock = ch.lock()) {
            long size = ch.size();
            if (size > 0) {
                ByteBuffer last = ByteBuffer.allocate(1);
                ch.read(last, size - 1);
                if (last.get(0) != '\n') {
                    ch.write(ByteBuffer.wrap(new byte[] {'\n'}), size); // seal a torn line
                    size++;
                }
            }
            ByteBuffer b = ByteBuffer.wrap(line);
            while (b.hasRemaining()) {
                size += ch.write(b, size);
            }
            ch.force(true);
        }
    }

    /**
     * What a file holds: judgments in order, which of them are retracted, torn lines skipped, and
     * where each judgment was read ({@code FILE:LINE} by judgment id), for messages.
     */
    public record Contents(List<Judgment> judgments, Set<String> retracted, int tornLines,
                           Map<String, String> sources) {

        /**
         * Refuses a judgment that does not fit the tasks it names: a task id not in {@code taskFile},
         * or a ranking of another number of responses than the task has (judgments of another task
         * file); the message names the judgment's FILE:LINE.
         */
        public void checkAgainst(Map<String, LabelTask> tasks, Path taskFile) {
            for (Judgment j : effective()) {
                String where = sources.getOrDefault(j.id(), "judgment " + j.id());
                LabelTask t = tasks.get(j.taskId());
                if (t == null) {
                    throw new UserInputException(where + ": task_id '" + j.taskId() + "' is not in " + taskFile
                            + " (judgments of another task file?)");
                }
                if (j.binary()) {
                    if (j.response() >= t.k()) {
                        throw new UserInputException(where + ": field 'response' " + j.response() + " is not one of"
                                + " task '" + t.id() + "''s responses 0.." + (t.k() - 1) + " in " + taskFile
                                + " (judgments of another task file?)");
                    }
                    continue;
                }
                int ranked = j.ranking() != null ? j.ranking().size() : j.displayOrder().size();
                if ((j.ranking() != null || !j.displayOrder().isEmpty()) && ranked != t.k()) {
                    throw new UserInputException(where + ": ranks " + ranked + " responses, but task '" + t.id()
                            + "' in " + taskFile + " has " + t.k() + " (judgments of another task file?)");
                }
                if (!j.displayOrder().isEmpty() && !new HashSet<>(j.displayOrder()).equals(indices(t.k()))) {
                    throw new UserInputException(where + ": field 'display_order' " + j.displayOrder()
                            + " is not a permutation of the task's responses 0.." + (t.k() - 1));
                }
            }
        }

        /** Judgments not retracted, in file order. */
        public List<Judgment> effective() {
            return judgments.stream().filter(j -> !retracted.contains(j.id())).toList();
        }

        public List<Judgment> effective(String annotator) {
            return effective().stream().filter(j -> j.annotator().equals(annotator)).toList();
        }
    }

    public Contents read() throws IOException {
        return read(List.of(file));
    }

    private static Set<Integer> indices(int k) {
        Set<Integer> s = new HashSet<>();
        for (int i = 0; i < k; i++) {
            s.add(i);
        }
        return s;
    }

    /** Reads stores that may not exist yet (a session's own file): a missing file holds nothing. */
    public static Contents read(List<Path> files) throws IOException {
        return read(files, false);
    }

    /**
     * Reads judgment files a user names as input: each must exist and be a judgments store (lines
     * of type judgment or retraction, as 'label session' and 'label simulate' write), else an error
     * naming it, so a typo is not read as an empty store.
     */
    public static Contents readInputs(List<Path> files) throws IOException {
        for (Path f : files) {
            InputFiles.requireReadableFile(f);
        }
        return read(files, true);
    }

    private static Contents read(List<Path> files, boolean inputs) throws IOException {
        List<Judgment> judgments = new ArrayList<>();
        Map<String, String> sources = new HashMap<>();
        Set<String> retracted = new HashSet<>();
        Map<String, Boolean> seen = new LinkedHashMap<>();
        int torn = 0;
        for (Path f : files) {
            if (!Files.exists(f)) {
                continue;
            }
            int rows = 0;
            try (JsonlReader in = new JsonlReader(f)) {
                JsonlReader.Line line;
                while ((line = in.next()) != null) {
                    if (!line.ok()) {
                        torn++;
                        continue;
                    }
                    JsonNode o = line.json();
                    String type = o.path("type").asText("judgment");
                    if (inputs && (!o.isObject() || !o.path("task_id").isTextual()
                            || !(type.equals("judgment") || type.equals("retraction")))) {
                        throw new IOException(f + ":" + line.number() + ": not a judgment (a judgments file holds"
                                + " the lines of 'label session' or 'label simulate', each with a task_id and type"
                                + " judgment or retraction)");
                    }
                    rows++;
                    if (type.equals("retraction")) {
                        retracted.add(o.path("retracts").asText());
                    } else if (seen.putIfAbsent(o.path("id").asText(), true) == null) {
                        try {
                            Judgment j = Judgment.fromJson(o);
                            judgments.add(j);
                            sources.put(j.id(), f + ":" + line.number());
                        } catch (IllegalArgumentException e) {
                            String m = e.getMessage();
                            throw new IOException(f + ":" + line.number() + ": "
                                    + (m != null && m.startsWith("field ") ? m : "field 'ranking': " + m));
                        }
                    }
                }
            }
            if (inputs && rows == 0) {
                throw new IOException(f + ": holds no judgments (write them with 'label session' or 'label"
                        + " simulate')");
            }
        }
        return new Contents(judgments, retracted, torn, sources);
    }
}
