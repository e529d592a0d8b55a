package org.align4j.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.backend.Backend;
import org.align4j.core.output.OutputCheck;
import org.align4j.core.output.PathKind;
import org.align4j.core.tokenizer.BpeTokenizer;
import org.align4j.core.tokenizer.TokenizerFiles;
import org.align4j.core.util.Json;
import org.align4j.data.jsonl.JsonlReader;
import org.align4j.data.jsonl.JsonlWriter;
import org.align4j.reward.RewardScorer;
import org.align4j.reward.grader.Grader;
import org.align4j.reward.grader.GraderInput;
import org.align4j.reward.grader.GraderParser;
import org.align4j.reward.grader.GraderRunner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "grade", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Score a file of samples with a grader, as OpenAI's graders/run does: check a grader before"
                + " training with ppo --grader. Each input line holds the item's fields ({{item.FIELD}}) and the"
                + " sample's text under 'response' ({{sample.output_text}}); each output line is the input plus"
                + " 'score', 'error' where the grader failed on it (it then scores 0), and 'scores' (each named"
                + " grader's) for a multi grader. Prints the mean score, and each named grader's mean for multi."
                + " The grader file and every line are checked before any grading.",
        footer = {"", "Grader types: string_check, text_similarity, score_model (a local reward-model directory),"
                + " multi (OpenAI's), and align4j's regex, length, sentiment, json_schema, math_answer.", "",
                "Examples:",
                "  align4j grade --grader math.json --data samples.jsonl --out graded.jsonl",
                "      (math.json: {\"type\": \"math_answer\", \"name\": \"answer\", \"reference\": \"{{item.answer}}\"};",
                "       a line: {\"prompt\": \"2+3?\", \"answer\": \"5\", \"response\": \"It is \\\\boxed{5}\"})",
                "  align4j grade --grader length.json --tokenizer runs/sft/final --data samples.jsonl"})
final class GradeCommand implements Callable<Integer> {

    @Option(names = "--grader", required = true, paramLabel = "FILE", description = "grader JSON")
    Path grader;
    @Option(names = "--data", required = true, paramLabel = "FILE",
            description = "JSONL of samples: the item's fields and the sample's text under 'response'")
    Path data;
    @Option(names = "--out", paramLabel = "FILE", description = "write the graded lines here (default: stdout)")
    Path out;
    @Mixin
    ForceOption force;
    @Range(min = 1, max = 256)
    @Option(names = "--concurrency", paramLabel = "N", defaultValue = "4",
            description = "samples graded at once (a local reward model grades one at a time) (default: ${DEFAULT-VALUE})")
    int concurrency;
    @Option(names = "--tokenizer", paramLabel = "DIR",
            description = "model or tokenizer directory whose tokens a length grader counts")
    Path tokenizer;

    @Override
    public Integer call() throws Exception {
        if (out != null) {
            OutputCheck.of("--out", out).replaces(PathKind.DATA).input("--data", data).input("--grader", grader)
                    .check(force.force);
        }
        Grader g = GraderParser.read(grader, dir -> RewardScorer.load(dir, Backend.get().kernels()));
        if (g.needsTokens() && tokenizer == null) {
            throw new UserError(grader + ": a length grader counts the response's tokens: give --tokenizer DIR (the"
                    + " policy's model directory)");
        }
        BpeTokenizer tok = tokenizer == null ? null : TokenizerFiles.load(tokenizer);
        List<ObjectNode> rows = new ArrayList<>();
        List<Long> lines = new ArrayList<>();
        List<GraderInput> inputs = new ArrayList<>();
        try (JsonlReader in = new JsonlReader(data)) {
            JsonlReader.Line line;
            while ((line = in.next()) != null) {
                String where = data + ":" + line.number();
                if (!line.ok()) {
                    throw new UserError(where + ": not JSON: " + line.error());
                }
                if (!(line.json() instanceof ObjectNode row)) {
                    throw new UserError(where + ": expected a JSON object (the item's fields and 'response')");
                }
                if (!row.path("response").isTextual()) {
                    throw new UserError(where + ": needs the sample's text under 'response' (a string)");
                }
                String missing = g.checkItem(row);
                if (missing != null) {
                    throw new UserError(where + ": lacks " + missing + ", which the grader " + grader + " reads");
                }
                String response = row.get("response").asText();
                rows.add(row);
                lines.add(line.number());
                inputs.add(new GraderInput(row, response, tok == null ? -1 : tok.encode(response).length));
            }
        }
        if (rows.isEmpty()) {
            throw new UserError(data + ": no samples");
        }
        List<GraderRunner.Grade> grades;
        try (GraderRunner runner = new GraderRunner(g, concurrency)) {
            grades = runner.gradeAll(inputs);
        }
        double sum = 0;
        int failed = 0;
        String first = null;
        Map<String, double[]> parts = new LinkedHashMap<>();
        for (int i = 0; i < rows.size(); i++) {
            GraderRunner.Grade grade = grades.get(i);
            ObjectNode row = rows.get(i).deepCopy();
            row.put("score", grade.score());
            sum += grade.score();
            if (grade.failed()) {
                row.put("error", grade.error());
                failed++;
                first = first == null ? "line " + lines.get(i) + ": " + grade.error() : first;
            }
            if (!grade.parts().isEmpty()) {
                ObjectNode named = row.putObject("scores");
                grade.parts().forEach((k, v) -> {
                    named.put(k, v);
                    double[] a = parts.computeIfAbsent(k, x -> new double[2]);
                    a[0] += v;
                    a[1]++;
                });
            }
            rows.set(i, row);
        }
        PrintStream summary;
        if (out != null) {
            JsonlWriter.write(out, rows);
            summary = Console.stdout();
        } else {
            PrintStream stdout = Console.stdout();
            for (ObjectNode row : rows) {
                stdout.println(Json.MAPPER.writeValueAsString(row));
            }
            stdout.flush();
            summary = System.err;
        }
        summary.printf("graded %d sample(s) of %s with %s (%s)%s: mean score %.4f%n", rows.size(), data, grader,
                g.name(), out == null ? "" : " into " + out, sum / rows.size());
        parts.forEach((k, a) -> summary.printf("  %s: mean %.4f over %d sample(s)%n", k, a[0] / a[1], (long) a[1]));
        if (failed > 0) {
            summary.printf("the grader failed on %d sample(s), scored 0 (see 'error'); first: %s%n", failed, first);
        }
        summary.flush();
        return 0;
    }
}
