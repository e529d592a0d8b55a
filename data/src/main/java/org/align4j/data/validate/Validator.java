package org.align4j.data.validate;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

import org.align4j.data.batch.ExampleEncoder;
import org.align4j.data.format.DataRecord;
import org.align4j.data.format.Problem;
import org.align4j.data.format.ProblemKind;
import org.align4j.data.format.RecordJson;
import org.align4j.data.format.RecordKind;
import org.align4j.data.format.RecordParser;
import org.align4j.data.jsonl.JsonlReader;

/**
 * Checks JSONL files record by record in one streaming pass: memory holds counters, a 64-bit
 * hash per record for duplicates (up to 4,194,304 distinct records, 64 MiB; later records are
 * checked against those) and a histogram of token lengths, never the records.
 */
public final class Validator {

    /** Problems kept in the report (every problem goes to the sink). */
    public static final int KEPT_PROBLEMS = 1000;
    private static final int MAX_LABELS = 50;

    private final ExampleEncoder encoder;
    private final int maxLength;
    private final RecordKind forced;
    private final Consumer<Problem> sink;

    /**
     * @param encoder   tokenizer-backed encoder for length statistics, or null
     * @param maxLength the training sequence length to compare lengths against (0: none)
     * @param forced    the record kind for every file, or null to detect it per file
     * @param sink      receives every problem as it is found (may be null)
     */
    public Validator(ExampleEncoder encoder, int maxLength, RecordKind forced, Consumer<Problem> sink) {
        this.encoder = encoder;
        this.maxLength = maxLength;
        this.forced = forced;
        this.sink = sink == null ? p -> { } : sink;
    }

    private void report(Problem p, Map<ProblemKind, Long> counts, List<Problem> kept) {
        counts.merge(p.kind(), 1L, Long::sum);
        if (kept.size() < KEPT_PROBLEMS) {
            kept.add(p);
        }
        sink.accept(p);
    }

    public ValidationReport validate(List<Path> files) throws IOException {
        Map<RecordKind, Long> byKind = new EnumMap<>(RecordKind.class);
        Map<ProblemKind, Long> problemCounts = new EnumMap<>(ProblemKind.class);
        List<Problem> kept = new ArrayList<>();
        List<ValidationReport.FileSummary> summaries = new ArrayList<>();
        LongHashSet seen = new LongHashSet();
        LengthHistogram lengths = new LengthHistogram();
        Map<String, Long> labels = new LinkedHashMap<>();
        boolean labelsPossible = true;
        long records = 0;
        long valid = 0;
        long invalid = 0;
        long duplicates = 0;
        long totalTokens = 0;
        long billedTokens = 0;
        for (Path file : files) {
            RecordKind kind = forced;
            long fileRecords = 0;
            long fileInvalid = 0;
            try (JsonlReader in = new JsonlReader(file)) {
                while (true) {
                    JsonlReader.Line line;
                    try {
                        line = in.next();
                    } catch (JsonlReader.InvalidUtf8Exception e) {
                        // reported at its line, then the rest of this file and the other files are still checked
                        records++;
                        fileRecords++;
                        invalid++;
                        fileInvalid++;
                        report(new Problem(file.toString(), e.line(), ProblemKind.NOT_UTF8, e.detail()), problemCounts,
                                kept);
                        continue;
                    }
                    if (line == null) {
                        break;
                    }
                    records++;
                    fileRecords++;
                    List<RecordParser.Issue> issues = new ArrayList<>();
                    DataRecord record = null;
                    if (!line.ok()) {
                        issues.add(new RecordParser.Issue(ProblemKind.NOT_JSON, "not JSON: " + line.error()));
                    } else {
                        if (kind == null) {
                            kind = RecordParser.detect(line.json());
                        }
                        if (kind == null) {
                            issues.add(line.json().isObject()
                                    ? new RecordParser.Issue(ProblemKind.UNKNOWN_FORMAT, "no field of a known format"
                                    + " (text; prompt+completion; messages; chosen+rejected;"
                                    + " input+preferred_output+non_preferred_output; responses+ranking;"
                                    + " prompt+completion+label)")
                                    : new RecordParser.Issue(ProblemKind.NOT_AN_OBJECT, "expected a JSON object"));
                        } else {
                            RecordParser.Result r = RecordParser.parse(line.json(), kind);
                            issues.addAll(r.problems());
                            record = r.record();
                        }
                    }
                    if (!issues.isEmpty()) {
                        invalid++;
                        fileInvalid++;
                        for (RecordParser.Issue i : issues) {
                            report(new Problem(file.toString(), line.number(), i.kind(), i.message()), problemCounts,
                                    kept);
                        }
                        continue;
                    }
                    valid++;
                    byKind.merge(record.kind(), 1L, Long::sum);
                    if (!seen.add(org.align4j.core.util.Hashes.fnv1a64(RecordJson.toJson(record).toString()))) {
                        duplicates++;
                    }
                    if (encoder != null) {
                        int len = encoder.length(record);
                        lengths.add(len);
                        totalTokens += len;
                        billedTokens += maxLength > 0 ? Math.min(len, maxLength) : len;
                    }
                    if (labelsPossible && record instanceof DataRecord.Completion c) {
                        String label = c.completion().trim();
                        if (label.length() > 40 || (labels.size() >= MAX_LABELS && !labels.containsKey(label))) {
                            labelsPossible = false;
                            labels.clear();
                        } else {
                            labels.merge(label, 1L, Long::sum);
                        }
                    }
                }
            }
            if (fileRecords == 0) {
                // what training commands refuse, validation reports: the two must agree
                Problem p = new Problem(file.toString(), 1, ProblemKind.NO_RECORDS, "no records: the file is empty or"
                        + " holds only blank lines");
                problemCounts.merge(ProblemKind.NO_RECORDS, 1L, Long::sum);
                kept.add(p);
                sink.accept(p);
            }
            summaries.add(new ValidationReport.FileSummary(file.toString(), kind, fileRecords, fileInvalid));
        }
        boolean labelish = labelsPossible && !labels.isEmpty() && valid >= 2L * labels.size()
                && byKind.getOrDefault(RecordKind.COMPLETION, 0L) == valid;
        ValidationReport.TokenStats stats = encoder == null ? null
                : new ValidationReport.TokenStats(lengths.min(), lengths.mean(), lengths.quantile(0.5),
                lengths.quantile(0.95), lengths.max(), maxLength, maxLength > 0 ? lengths.countAbove(maxLength) : 0,
                totalTokens, billedTokens);
        return new ValidationReport(summaries, records, valid, invalid, byKind, problemCounts, kept, duplicates,
                !seen.full(), stats, labelish ? new TreeMap<>(labels) : null, suggestedEpochs(valid));
    }

    /**
     * OpenAI's default: 3 epochs, raised so that examples x epochs reaches 100, lowered so that it
     * stays under 25,000, within 1..25.
     */
    public static int suggestedEpochs(long examples) {
        if (examples <= 0) {
            return 0;
        }
        int epochs = 3;
        if (examples * epochs < 100) {
            epochs = (int) Math.min(25, 100 / examples);
        } else if (examples * epochs > 25_000) {
            epochs = (int) Math.max(1, 25_000 / examples);
        }
        return epochs;
    }

}
