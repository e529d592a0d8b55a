package org.align4j.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.chat.ChatTemplate;
import org.align4j.core.output.OutputCheck;
import org.align4j.core.output.PathKind;
import org.align4j.core.tokenizer.BpeTokenizer;
import org.align4j.core.tokenizer.SpecialTokens;
import org.align4j.core.tokenizer.TokenizerFiles;
import org.align4j.data.batch.ExampleEncoder;
import org.align4j.data.format.DataRecord;
import org.align4j.data.format.Problem;
import org.align4j.data.format.RecordJson;
import org.align4j.data.format.RecordKind;
import org.align4j.data.jsonl.JsonlWriter;
import org.align4j.data.prepare.DataConvert;
import org.align4j.data.prepare.DataSplit;
import org.align4j.data.prepare.UnpairedRecords;
import org.align4j.data.validate.ValidationReport;
import org.align4j.data.validate.Validator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "data", mixinStandardHelpOptions = true,
        description = "Check and prepare training data (JSON Lines).",
        subcommands = {DataCommand.Validate.class, DataCommand.Split.class, DataCommand.Convert.class,
                DataCommand.ToPairs.class, DataCommand.ToKto.class})
final class DataCommand implements Runnable {

    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    @Command(name = "validate", mixinStandardHelpOptions = true,
            description = {"Check every record; print problems as FILE:LINE: kind: message, then a summary.",
                    "Exit code 0 only when no record has an error. Streams the files (constant memory)."},
            footer = {"", "Examples:", "  align4j data validate train.jsonl val.jsonl",
                    "  align4j data validate chats.jsonl --tokenizer examples/base-model --max-length 256 --json"})
    static final class Validate implements Callable<Integer> {
        @Parameters(arity = "1..*", paramLabel = "FILE")
        List<Path> files;
        @Option(names = "--format", description = "text, completion, chat, preference or ranking (default: detected per file)")
        String format;
        @Option(names = "--tokenizer", description = "tokenizer directory or tokenizer.json, for token-length statistics")
        Path tokenizer;
        @Range(min = 0)
        @Option(names = "--max-length", defaultValue = "0", description = "count records longer than this many tokens")
        int maxLength;
        @Option(names = "--json", description = "print the report as one JSON object")
        boolean json;

        @Override
        public Integer call() throws Exception {
            ExampleEncoder encoder = null;
            if (tokenizer != null) {
                BpeTokenizer tok = TokenizerFiles.load(tokenizer);
                int eos = SpecialTokens.endOfSequence(tok, tok.vocabSize() - 1);
                encoder = new ExampleEncoder(tok, java.nio.file.Files.isDirectory(tokenizer)
                        ? ChatTemplate.forModel(tokenizer) : ChatTemplate.chatMl(), eos);
            }
            PrintStream out = Console.stdout();
            RecordKind kind = format == null ? null : RecordKind.parse(format);
            Validator v = new Validator(encoder, maxLength, kind, json ? null : p -> out.println(p));
            ValidationReport r = v.validate(files);
            if (json) {
                out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(toJson(r)));
            } else {
                printSummary(out, r);
            }
            return r.ok() ? 0 : 1;
        }

        static void printSummary(PrintStream out, ValidationReport r) {
            out.println();
            for (ValidationReport.FileSummary f : r.files()) {
                out.printf("%s: %d records read as %s, %d with errors%n", f.file(), f.records(),
                        f.kind() == null ? "(unknown format)" : f.kind().id(), f.invalid());
            }
            out.printf("records: %d (%d valid, %d with errors); exact duplicates: %d%s%n", r.records(), r.validRecords(),
                    r.invalidRecords(), r.duplicates(), r.duplicatesExact() ? ""
                            : " (checked against the first 4,194,304 distinct records)");
            r.recordsByKind().forEach((k, n) -> out.printf("  %-12s %d%n", k.id(), n));
            if (!r.problemCounts().isEmpty()) {
                out.println("problems:");
                r.problemCounts().forEach((k, n) -> out.printf("  %-36s %d%n", k.id(), n));
            }
            if (r.tokens() != null) {
                ValidationReport.TokenStats t = r.tokens();
                out.printf("tokens per record: min %d, mean %.1f, median %d, p95 %d, max %d (%d in all)%n", t.min(),
                        t.mean(), t.median(), t.p95(), t.max(), t.totalTokens());
                if (t.maxLength() > 0) {
                    out.printf("  %d record(s) exceed --max-length %d and would be truncated%n", t.overMaxLength(),
                            t.maxLength());
                }
            }
            if (r.labelCounts() != null) {
                out.println("completions look like labels; balance:");
                r.labelCounts().forEach((label, n) -> out.printf("  %-20s %d (%.1f%%)%n", "'" + label + "'", n,
                        100.0 * n / r.validRecords()));
            }
            out.printf("suggested epochs: %d (OpenAI's rule for %d examples)%n", r.suggestedEpochs(), r.validRecords());
            if (r.tokens() != null) {
                out.printf("estimated training tokens: %,d billed tokens per epoch x %d epochs = %,d%n",
                        r.tokens().billedTokens(), r.suggestedEpochs(), r.estimatedTrainingTokens(r.suggestedEpochs()));
            } else {
                out.println("estimated training tokens: give --tokenizer MODEL_DIR to count them");
            }
            out.println(r.ok() ? "OK" : "FAILED: fix the records above, or train with --skip-bad-records");
        }

        static ObjectNode toJson(ValidationReport r) {
            ObjectMapper om = new ObjectMapper();
            ObjectNode o = om.createObjectNode();
            o.put("ok", r.ok());
            o.put("records", r.records());
            o.put("valid_records", r.validRecords());
            o.put("invalid_records", r.invalidRecords());
            o.put("duplicates", r.duplicates());
            o.put("duplicates_exact", r.duplicatesExact());
            ObjectNode kinds = o.putObject("records_by_kind");
            r.recordsByKind().forEach((k, n) -> kinds.put(k.id(), n));
            ObjectNode pk = o.putObject("problem_counts");
            r.problemCounts().forEach((k, n) -> pk.put(k.id(), n));
            ArrayNode ps = o.putArray("problems");
            for (Problem p : r.problems()) {
                ps.addObject().put("file", p.file()).put("line", p.line()).put("kind", p.kind().id())
                        .put("message", p.message());
            }
            if (r.tokens() != null) {
                ValidationReport.TokenStats t = r.tokens();
                o.putObject("tokens").put("min", t.min()).put("mean", t.mean()).put("median", t.median())
                        .put("p95", t.p95()).put("max", t.max()).put("total", t.totalTokens())
                        .put("max_length", t.maxLength()).put("over_max_length", t.overMaxLength())
                        .put("billed_tokens", t.billedTokens());
                o.put("estimated_training_tokens", r.estimatedTrainingTokens(r.suggestedEpochs()));
            }
            if (r.labelCounts() != null) {
                ObjectNode l = o.putObject("label_counts");
                r.labelCounts().forEach(l::put);
            }
            o.put("suggested_epochs", r.suggestedEpochs());
            return o;
        }
    }

    @Command(name = "split", mixinStandardHelpOptions = true,
            description = "Shuffle and split a JSONL file into train, validation and test files.",
            footer = {"", "Example:",
                    "  align4j data split reviews.jsonl --train 0.8 --val 0.1 --test 0.1 --seed 1 --stratify-by completion --dedup",
                    "  (writes reviews.train.jsonl, reviews.val.jsonl, reviews.test.jsonl beside the input)"})
    static final class Split implements Callable<Integer> {
        @Parameters(paramLabel = "FILE")
        Path file;
        @Range(min = 0, max = 1)
        @Option(names = "--train", defaultValue = "0.8", description = "fraction of records for training (default: ${DEFAULT-VALUE})")
        double train;
        @Range(min = 0, max = 1)
        @Option(names = "--val", defaultValue = "0.1", description = "fraction for validation (default: ${DEFAULT-VALUE})")
        double val;
        @Range(min = 0, max = 1)
        @Option(names = "--test", defaultValue = "0.1", description = "fraction for testing (default: ${DEFAULT-VALUE})")
        double test;
        @Range()
        @Option(names = "--seed", defaultValue = "0", description = "shuffling seed (default: ${DEFAULT-VALUE})")
        long seed;
        @Option(names = "--stratify-by", description = "keep this field's value proportions in every part")
        String stratifyBy;
        @Option(names = "--dedup", description = "drop records whose prompt (or text) appeared before")
        boolean dedup;
        @Option(names = "--out-dir", description = "where to write (default: beside the input)")
        Path outDir;
        @Mixin
        ForceOption force;

        @Override
        public Integer call() throws Exception {
            Path dir = outDir != null ? outDir : file.toAbsolutePath().getParent();
            String base = file.getFileName().toString().replaceFirst("\\.jsonl?$", "");
            for (String part : List.of("train", "val", "test")) {
                OutputCheck.of("--out-dir", dir.resolve(base + "." + part + ".jsonl")).replaces(PathKind.DATA)
                        .input("FILE", file).check(force.force);
            }
            DataSplit.Result r = DataSplit.split(file, train, val, test, seed, stratifyBy, dedup);
            Map<String, List<JsonNode>> parts = new LinkedHashMap<>();
            parts.put("train", r.train());
            parts.put("val", r.val());
            parts.put("test", r.test());
            for (Map.Entry<String, List<JsonNode>> e : parts.entrySet()) {
                if (e.getValue().isEmpty() && !e.getKey().equals("train")) {
                    continue;
                }
                Path out = dir.resolve(base + "." + e.getKey() + ".jsonl");
                JsonlWriter.write(out, e.getValue());
                System.err.printf("%s: %d records%n", out, e.getValue().size());
            }
            if (dedup) {
                System.err.printf("dropped %d duplicate(s)%n", r.duplicatesDropped());
            }
            return 0;
        }
    }

    @Command(name = "convert", mixinStandardHelpOptions = true,
            description = {"Convert CSV, TSV, a JSON array or JSONL with other field names into an align4j format.",
                    "Anthropic HH-RLHF transcripts become explicit-prompt preferences with --hh-rlhf."},
            footer = {"", "Examples:",
                    "  align4j data convert reviews.csv --to completion --prompt-field review --completion-field stars --out reviews.jsonl",
                    "  align4j data convert hh.jsonl --to preference --hh-rlhf --out prefs.jsonl"})
    static final class Convert implements Callable<Integer> {
        @Parameters(paramLabel = "FILE")
        Path file;
        @Option(names = "--to", required = true, description = "text, completion, chat or preference")
        String to;
        @Option(names = "--input-format", description = "csv, tsv, json or jsonl (default: from the file name)")
        String inputFormat;
        @Option(names = "--prompt-field", description = "input field holding the prompt (default: prompt)")
        String promptField;
        @Option(names = "--completion-field", description = "input field holding the completion (default: completion)")
        String completionField;
        @Option(names = "--text-field", description = "input field holding the text (default: text)")
        String textField;
        @Option(names = "--chosen-field", description = "input field holding the chosen response (default: chosen)")
        String chosenField;
        @Option(names = "--rejected-field", description = "input field holding the rejected response (default: rejected)")
        String rejectedField;
        @Option(names = "--system", description = "system message to put first (with --to chat)")
        String system;
        @Option(names = "--hh-rlhf", description = "chosen/rejected are HH-RLHF transcripts")
        boolean hh;
        @Option(names = "--out", required = true, description = "JSONL file to write")
        Path out;
        @Mixin
        ForceOption force;

        @Override
        public Integer call() throws Exception {
            OutputCheck.of("--out", out).replaces(PathKind.DATA).input("FILE", file).check(force.force);
            List<JsonNode> rows = DataConvert.convert(file, inputFormat, new DataConvert.Mapping(RecordKind.parse(to),
                    promptField, completionField, textField, chosenField, rejectedField, system, hh));
            JsonlWriter.write(out, rows);
            System.err.printf("%s: %d %s records%n", out, rows.size(), to);
            return 0;
        }
    }

    @Command(name = "to-pairs", mixinStandardHelpOptions = true,
            description = "Expand rankings into preference pairs (all C(K,2) ordered pairs per prompt, ties excluded).",
            footer = {"", "Example:", "  align4j data to-pairs rankings.jsonl --out pairs.jsonl"})
    static final class ToPairs implements Callable<Integer> {
        @Parameters(paramLabel = "FILE")
        Path file;
        @Option(names = "--out", required = true, description = "JSONL file of preference pairs to write")
        Path out;
        @Mixin
        ForceOption force;

        @Override
        public Integer call() throws Exception {
            OutputCheck.of("--out", out).replaces(PathKind.DATA).input("FILE", file).check(force.force);
            List<JsonNode> rows = DataConvert.rankingsToPairs(file);
            JsonlWriter.write(out, rows);
            System.err.printf("%s: %d preference pairs%n", out, rows.size());
            return 0;
        }
    }

    @Command(name = "to-kto", mixinStandardHelpOptions = true,
            description = {"Preference pairs or rankings as KTO's unpaired records {\"prompt\", \"completion\", \"label\"}:",
                    "a pair's chosen response up and its rejected one down; a ranking's best group up and its worst",
                    "group down (middle groups give nothing, a ranking tied throughout nothing)."},
            footer = {"", "Examples:", "  align4j data to-kto pairs.jsonl --out thumbs.jsonl",
                    "  align4j data to-kto rankings.jsonl --out thumbs.jsonl && align4j kto --model M --train thumbs.jsonl --out runs/kto"})
    static final class ToKto implements Callable<Integer> {
        @Parameters(paramLabel = "FILE")
        Path file;
        @Option(names = "--out", required = true, description = "JSONL file of unpaired records to write")
        Path out;
        @Mixin
        ForceOption force;

        @Override
        public Integer call() throws Exception {
            OutputCheck.of("--out", out).replaces(PathKind.DATA).input("FILE", file).check(force.force);
            UnpairedRecords.Result r = UnpairedRecords.read(file);
            List<JsonNode> rows = new ArrayList<>();
            r.records().forEach(u -> rows.add(RecordJson.toJson(u)));
            JsonlWriter.write(out, rows);
            long up = r.records().stream().filter(DataRecord.Unpaired::label).count();
            System.err.printf("%s: %d unpaired records (%d desirable, %d undesirable)%s%n", out, rows.size(), up,
                    rows.size() - up, r.allTied() > 0 ? "; " + r.allTied() + " ranking(s) tied throughout give none"
                            : "");
            return 0;
        }
    }
}
