package org.align4j.data.format;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.align4j.data.jsonl.JsonlReader;

/**
 * The records of one JSONL file, read for training after the same checks as
 * {@code data validate}. Bad records stop the read, unless {@code skipBad}, in which case they
 * are left out and listed in {@link #skipped()}.
 */
public record Dataset(Path file, RecordKind kind, List<DataRecord> records, List<Long> lines, List<Problem> skipped) {

    public static Dataset read(Path file, RecordKind forced, boolean skipBad) throws IOException {
        return read(file, forced, skipBad, null);
    }

    /** Reads a file whose kind must be one of {@code accepted} (null: any); bad records are refused. */
    public static Dataset read(Path file, RecordKind forced, boolean skipBad, Set<RecordKind> accepted)
            throws IOException {
        return read(file, forced, skipBad, accepted, null);
    }

    /**
     * As {@link #read(Path, RecordKind, boolean, Set)}; {@code skipOption} is how the command lets
     * bad records be skipped, suggested when they are refused (null: the command has no such option).
     */
    public static Dataset read(Path file, RecordKind forced, boolean skipBad, Set<RecordKind> accepted,
                               String skipOption) throws IOException {
        RecordKind kind = forced;
        List<DataRecord> records = new ArrayList<>();
        List<Long> lines = new ArrayList<>();
        List<Problem> problems = new ArrayList<>();
        List<Long> badLines = new ArrayList<>();
        try (JsonlReader in = new JsonlReader(file)) {
            JsonlReader.Line line;
            while ((line = in.next()) != null) {
                if (!line.ok()) {
                    problems.add(new Problem(file.toString(), line.number(), ProblemKind.NOT_JSON,
                            "not JSON: " + line.error()));
                    badLines.add(line.number());
                    continue;
                }
                if (kind == null) {
                    kind = RecordParser.detect(line.json());
                    if (kind == null) {
                        problems.add(new Problem(file.toString(), line.number(), ProblemKind.UNKNOWN_FORMAT,
                                "no field of a known format"));
                        badLines.add(line.number());
                        continue;
                    }
                }
                RecordParser.Result r = RecordParser.parse(line.json(), kind);
                if (!r.ok()) {
                    for (RecordParser.Issue i : r.problems()) {
                        problems.add(new Problem(file.toString(), line.number(), i.kind(), i.message()));
                    }
                    badLines.add(line.number());
                    continue;
                }
                records.add(r.record());
                lines.add(line.number());
            }
        }
        if (kind != null && accepted != null && !accepted.contains(kind)) {
            throw new IOException(file + ": holds " + kind.id() + " records; this command takes "
                    + accepted.stream().map(RecordKind::id).sorted().toList());
        }
        if (!problems.isEmpty() && !skipBad) {
            throw new DataException(file + ": " + badLines.size() + " bad record(s); fix them"
                    + (skipOption == null ? "" : " or pass " + skipOption) + ":", problems);
        }
        if (records.isEmpty()) {
            throw new IOException(file + ": no usable records");
        }
        return new Dataset(file, kind, List.copyOf(records), List.copyOf(lines), List.copyOf(problems));
    }

    /** Line numbers of skipped records, for the report of --skip-bad-records. */
    public List<Long> skippedLines() {
        return skipped.stream().map(Problem::line).distinct().toList();
    }
}
