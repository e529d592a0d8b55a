package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.tokenizer.BpeTokenizer;
import org.align4j.core.tokenizer.TokenizerFiles;
import org.align4j.core.util.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code align4j grade} end to end: scores worked by hand, a sample the grader fails on scored 0
 * with its error, the mean and a multi grader's breakdown printed, mistakes refused before any
 * grading with one line, and a local reward model as score_model giving what {@code align4j score}
 * gives the same prompt and response.
 */
class GradeCommandTest {

    @TempDir
    Path tmp;

    static final String MULTI = """
            {"type": "multi", "name": "answer", "calculate_output": "0.25 * exact + 0.75 * math",
             "graders": {
               "exact": {"type": "string_check", "name": "exact", "input": "{{sample.output_text}}",
                         "reference": "{{item.answer}}", "operation": "eq"},
               "math": {"type": "math_answer", "name": "math", "reference": "{{item.answer}}"}}}""";

    Path write(String name, String content) throws Exception {
        Path f = tmp.resolve(name);
        Files.writeString(f, content);
        return f;
    }

    static List<JsonNode> lines(String text) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String l : text.split("\n")) {
            if (l.startsWith("{")) {
                out.add(Json.MAPPER.readTree(l));
            }
        }
        return out;
    }

    @Test
    void gradesEachLineWithTheMeanAndTheBreakdown() throws Exception {
        Path grader = write("answer.json", MULTI);
        Path data = write("samples.jsonl", """
                {"prompt": "2+3?", "answer": "5", "response": "5"}
                {"prompt": "2+3?", "answer": "5", "response": "It is \\\\boxed{5}"}
                {"prompt": "2+3?", "answer": "5", "response": "6"}
                {"prompt": "?", "answer": " ", "response": "5"}
                """);
        Path out = tmp.resolve("graded.jsonl");
        Object[] r = BadInputTest.run(null, "grade", "--grader", grader.toString(), "--data", data.toString(), "--out",
                out.toString());
        String printed = (String) r[1];
        assertEquals(0, r[0], printed);
        List<JsonNode> rows = lines(Files.readString(out));
        assertEquals(4, rows.size());
        // exact and math both 1; math only (0.75); neither; the empty reference fails the sample
        double[] expected = {1.0, 0.75, 0.0, 0.0};
        for (int i = 0; i < 4; i++) {
            assertEquals(expected[i], rows.get(i).get("score").asDouble(), 1e-12, rows.get(i).toString());
            assertEquals("2+3?", i < 3 ? rows.get(i).get("prompt").asText() : "2+3?", "the input's fields are kept");
        }
        assertEquals(0.0, rows.get(1).get("scores").get("exact").asDouble(), 0);
        assertEquals(1.0, rows.get(1).get("scores").get("math").asDouble(), 0);
        assertEquals("grader 'math': math_answer 'math': the reference {{item.answer}} is empty",
                rows.get(3).get("error").asText());
        assertFalse(rows.get(0).has("error"));
        assertTrue(printed.contains("mean score 0.4375"), printed);
        assertTrue(printed.contains("exact: mean 0.3333 over 3 sample(s)"), printed);
        assertTrue(printed.contains("math: mean 0.6667 over 3 sample(s)"), printed);
        assertTrue(printed.contains("failed on 1 sample(s), scored 0 (see 'error'); first: line 4:"), printed);
        // without --out the graded lines go to stdout
        Object[] s = BadInputTest.run(null, "grade", "--grader", grader.toString(), "--data", data.toString());
        assertEquals(0, s[0]);
        assertEquals(rows, lines((String) s[1]));
    }

    @Test
    void helpNamesTheGraderTypesAndAnExample() {
        Object[] r = BadInputTest.run(null, "grade", "--help");
        assertEquals(0, r[0]);
        String help = (String) r[1];
        assertTrue(help.contains("graders/run") && help.contains("math_answer") && help.contains("--concurrency=N")
                && help.contains("(default: 4)") && help.contains("align4j grade --grader math.json"), help);
        Object[] p = BadInputTest.run(null, "ppo", "--help");
        assertTrue(((String) p[1]).contains("--grader=FILE") && ((String) p[1]).contains("--grader-concurrency=N"),
                (String) p[1]);
    }

    @Test
    void mistakesAreRefusedBeforeAnyGrading() throws Exception {
        Path grader = write("answer.json", MULTI);
        Path data = write("samples.jsonl", "{\"answer\": \"5\", \"response\": \"5\"}\n");
        String g = grader.toString();
        String d = data.toString();
        BadInputTest.expectFailure(BadInputTest.run(null, "grade", "--grader", g, "--data", d, "--out", d),
                "--out " + d + " is this command's --data");
        Path existing = write("existing.jsonl", "keep me\n");
        BadInputTest.expectFailure(BadInputTest.run(null, "grade", "--grader", g, "--data", d, "--out",
                existing.toString()), "--out would replace it");
        assertEquals("keep me\n", Files.readString(existing));
        assertEquals(0, BadInputTest.run(null, "grade", "--grader", g, "--data", d, "--out", existing.toString(),
                "--force")[0]);
        Path python = write("python.json", MULTI.replace("\"type\": \"math_answer\", \"name\": \"math\", \"reference\":"
                + " \"{{item.answer}}\"", "\"type\": \"python\", \"name\": \"math\", \"source\": \"def grade(s, i): 1\""));
        BadInputTest.expectFailure(BadInputTest.run(null, "grade", "--grader", python.toString(), "--data", d),
                python + ": $.graders.math: type 'python' is not supported");
        Path typo = write("typo.json", MULTI.replace("\"operation\": \"eq\"", "\"operation\": \"equal\""));
        BadInputTest.expectFailure(BadInputTest.run(null, "grade", "--grader", typo.toString(), "--data", d),
                typo + ": $.graders.exact.operation: unknown operation 'equal' (eq, ne, like, ilike)");
        Path lacking = write("lacking.jsonl", "{\"answer\": \"5\", \"response\": \"5\"}\n{\"response\": \"5\"}\n");
        BadInputTest.expectFailure(BadInputTest.run(null, "grade", "--grader", g, "--data", lacking.toString()),
                lacking + ":2: lacks {{item.answer}}, which the grader " + g + " reads");
        Path noResponse = write("noresponse.jsonl", "{\"answer\": \"5\", \"output\": \"5\"}\n");
        BadInputTest.expectFailure(BadInputTest.run(null, "grade", "--grader", g, "--data", noResponse.toString()),
                noResponse + ":1: needs the sample's text under 'response'");
        Path length = write("length.json", "{\"type\": \"length\", \"name\": \"len\", \"target\": 8}");
        BadInputTest.expectFailure(BadInputTest.run(null, "grade", "--grader", length.toString(), "--data", d),
                "a length grader counts the response's tokens: give --tokenizer DIR");
        BadInputTest.expectFailure(BadInputTest.run(null, "grade", "--grader", g, "--data", d, "--concurrency", "0"),
                "--concurrency");
    }

    @Test
    void scoreModelWithALocalRewardModelGivesWhatScoreGives() throws Exception {
        SplittableRandom r = new SplittableRandom(9);
        Path model = TinyModel.create(tmp, TinyModel.corpus(r, 200), "grade-base");
        Path pairs = TinyModel.writeRulePairs(tmp.resolve("pairs.jsonl"), r, 24);
        Path rm = tmp.resolve("rm");
        assertEquals(0, Align4j.run("reward", "--model", model.toString(), "--train", pairs.toString(), "--out",
                rm.toString(), "--max-steps", "6", "--batch-size", "4", "--lr", "1e-2"));
        Path fin = rm.resolve("final");
        Path completions = write("completions.jsonl", """
                {"prompt": "the cat", "completion": " sat on a red mat"}
                {"prompt": "the dog", "completion": " ran under the log"}
                """);
        Path scored = tmp.resolve("scored.jsonl");
        assertEquals(0, Align4j.run("score", "--model", fin.toString(), "--data", completions.toString(), "--out",
                scored.toString()));
        List<JsonNode> reference = lines(Files.readString(scored));
        Path samples = write("samples.jsonl", """
                {"prompt": "the cat", "response": " sat on a red mat"}
                {"prompt": "the dog", "response": " ran under the log"}
                """);
        String judge = "{\"type\": \"score_model\", \"name\": \"rm\", \"model\": " + Json.MAPPER.writeValueAsString(
                fin.toString()) + "}";
        Path grader = write("rm.json", judge);
        Object[] g = BadInputTest.run(null, "grade", "--grader", grader.toString(), "--data", samples.toString());
        assertEquals(0, g[0], (String) g[1]);
        List<JsonNode> graded = lines((String) g[1]);
        for (int i = 0; i < 2; i++) {
            assertEquals(reference.get(i).get("reward").asDouble(), graded.get(i).get("score").asDouble(), 1e-6);
        }
        // the same with OpenAI's input messages, and clipped to a range around the lower of the two
        double lo = Math.min(reference.get(0).get("reward").asDouble(), reference.get(1).get("reward").asDouble());
        double hi = Math.max(reference.get(0).get("reward").asDouble(), reference.get(1).get("reward").asDouble());
        double cap = (lo + hi) / 2;
        Path ranged = write("ranged.json", judge.replace("}", ", \"range\": [-1000, " + cap + "], \"input\": ["
                + "{\"role\": \"user\", \"content\": \"{{item.prompt}}\"},"
                + " {\"role\": \"assistant\", \"content\": \"{{sample.output_text}}\"}]}"));
        Object[] c = BadInputTest.run(null, "grade", "--grader", ranged.toString(), "--data", samples.toString());
        assertEquals(0, c[0], (String) c[1]);
        List<JsonNode> clipped = lines((String) c[1]);
        double top = Math.max(clipped.get(0).get("score").asDouble(), clipped.get(1).get("score").asDouble());
        assertEquals(cap, top, 1e-9, "the higher score is clipped to the range");
        // a length grader counts the response's tokens with --tokenizer: 1 - |n - 4| / 4
        Path length = write("length.json", "{\"type\": \"length\", \"name\": \"len\", \"target\": 4}");
        Object[] l = BadInputTest.run(null, "grade", "--grader", length.toString(), "--tokenizer", model.toString(),
                "--data", samples.toString());
        assertEquals(0, l[0], (String) l[1]);
        List<JsonNode> lengths = lines((String) l[1]);
        BpeTokenizer tok = TokenizerFiles.load(model);
        for (int i = 0; i < 2; i++) {
            int n = tok.encode(lengths.get(i).get("response").asText()).length;
            assertEquals(Math.max(0, 1 - Math.abs(n - 4) / 4.0), lengths.get(i).get("score").asDouble(), 1e-12);
        }
        BadInputTest.expectFailure(BadInputTest.run(null, "grade", "--grader", write("notrm.json",
                judge.replace(Json.MAPPER.writeValueAsString(fin.toString()), Json.MAPPER.writeValueAsString(
                model.toString()))).toString(), "--data", samples.toString()), "$.model:", "not a reward model");
    }
}
