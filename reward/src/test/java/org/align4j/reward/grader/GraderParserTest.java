package org.align4j.reward.grader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.align4j.core.util.UserInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A grader file is checked whole before any work; each mistake is one error naming the file and the JSON path. */
class GraderParserTest {

    @TempDir
    Path tmp;

    String error(String json) throws Exception {
        Path f = tmp.resolve("grader.json");
        Files.writeString(f, json);
        UserInputException e = assertThrows(UserInputException.class, () -> GraderParser.read(f, null), json);
        assertTrue(e.getMessage().startsWith(f + ":"), e.getMessage());
        return e.getMessage().substring(f.toString().length() + 2);
    }

    static String multi(String inner) {
        return "{\"type\": \"multi\", \"name\": \"m\", \"calculate_output\": \"x\", \"graders\": {\"x\": " + inner + "}}";
    }

    @Test
    void eachMistakeNamesItsJsonPath() throws Exception {
        String check = "{\"type\": \"string_check\", \"name\": \"c\", \"input\": \"{{sample.output_text}}\","
                + " \"reference\": \"a\", \"operation\": \"eq\"";
        assertTrue(error(multi("{\"type\": \"python\", \"name\": \"p\", \"source\": \"def grade(s, i): return 1\"}"))
                .startsWith("$.graders.x: type 'python' is not supported: align4j does not run Python code"));
        assertTrue(error("{\"type\": \"label_model\", \"name\": \"l\"}").startsWith("$: type 'label_model' is not"
                + " supported"));
        assertTrue(error("{\"type\": \"magic\", \"name\": \"l\"}").startsWith("$.type: unknown grader type 'magic'"
                + " (string_check, text_similarity, score_model, multi, regex, length, sentiment, json_schema,"
                + " math_answer)"));
        assertTrue(error(check + ", \"refrence\": \"b\"}").startsWith("$.refrence: unknown key (allowed here: input,"
                + " name, operation, reference, type)"));
        assertEquals("$.graders.x.operation: unknown operation 'equals' (eq, ne, like, ilike)",
                error(multi(check.replace("\"eq\"", "\"equals\"") + "}")));
        assertEquals("$: missing 'reference'", error("{\"type\": \"string_check\", \"name\": \"c\", \"input\": \"a\","
                + " \"operation\": \"eq\"}"));
        assertEquals("$: missing 'name'", error("{\"type\": \"sentiment\"}"));
        assertEquals("$.name: must be a string, got 3", error("{\"type\": \"sentiment\", \"name\": 3}"));
        assertTrue(error(check.replace("{{sample.output_text}}", "{{sample.output_json}}") + "}").startsWith(
                "$.input: template reference {{sample.output_json}} is not supported"));
        assertTrue(error(check.replace("{{sample.output_text}}", "{{answer}}") + "}").startsWith(
                "$.input: template reference {{answer}} is not supported"));
        assertTrue(error("{\"type\": \"text_similarity\", \"name\": \"s\", \"input\": \"a\", \"reference\": \"b\","
                + " \"evaluation_metric\": \"cosine\"}").startsWith("$.evaluation_metric: 'cosine' needs an embeddings"
                + " model"));
        assertTrue(error("{\"type\": \"text_similarity\", \"name\": \"s\", \"input\": \"a\", \"reference\": \"b\","
                + " \"evaluation_metric\": \"rouge_6\"}").startsWith("$.evaluation_metric: unknown metric 'rouge_6'"));
        assertTrue(error("{\"type\": \"regex\", \"name\": \"r\", \"pattern\": \"(\"}").startsWith(
                "$.pattern: not a valid regular expression"));
        assertEquals("$.target: must be a whole number of tokens >= 1, got 0",
                error("{\"type\": \"length\", \"name\": \"l\", \"target\": 0}"));
        assertEquals("$.tolerance: must be >= 0, got -1.0", error("{\"type\": \"math_answer\", \"name\": \"m\","
                + " \"reference\": \"1\", \"tolerance\": -1}"));
        assertTrue(error("{\"type\": \"json_schema\", \"name\": \"j\", \"schema\": {\"type\": \"object\","
                + " \"properties\": {\"a\": {\"type\": \"string\", \"pattern\": \"x\"}}}}").startsWith(
                "$.schema.properties.a.pattern: keyword not supported"));
        assertTrue(error("{\"type\": \"json_schema\", \"name\": \"j\", \"schema\": {\"type\": \"float\"}}")
                .startsWith("$.schema.type: \"float\" is not a type"));
        assertTrue(error("{\"type\": \"multi\", \"name\": \"m\", \"calculate_output\": \"x + y\", \"graders\": {\"x\": "
                + check + "}}}").startsWith("$.calculate_output: 'y' is not one of the graders (x)"));
        assertTrue(error("{\"type\": \"multi\", \"name\": \"m\", \"calculate_output\": \"x ^ 2\", \"graders\": {\"x\": "
                + check + "}}}").startsWith("$.calculate_output: 'x ^ 2': unexpected '^' at character 3"));
        assertEquals("$.graders: must be a non-empty object of named graders",
                error("{\"type\": \"multi\", \"name\": \"m\", \"calculate_output\": \"1\", \"graders\": {}}"));
    }

    @Test
    void scoreModelWithAnEndpointOrSamplingIsRefusedClearly() throws Exception {
        String judge = "{\"type\": \"score_model\", \"name\": \"judge\", \"model\": \"gpt-4o-mini\", \"input\": [{\"role\":"
                + " \"user\", \"content\": \"Rate {{sample.output_text}}\"}], \"range\": [0, 1]}";
        assertTrue(error(judge).startsWith("$.model: 'gpt-4o-mini' is not a directory: score_model needs a local"
                + " reward-model directory"), error(judge));
        String dir = tmp.toString();
        assertTrue(error(judge.replace("gpt-4o-mini", dir).replace("\"range\"", "\"sampling_params\": {}, \"range\""))
                .startsWith("$.sampling_params: applies to a chat model as judge"));
        assertTrue(error(judge.replace("gpt-4o-mini", dir)).startsWith("$.input[0].role: the last message must be the"
                + " assistant's reply"));
        assertTrue(error(judge.replace("gpt-4o-mini", dir).replace("[0, 1]", "[1, 0]").replace("\"user\"", "\"assistant\"")).startsWith(
                "$.range: must be [low, high] with low < high"));
        assertTrue(error(judge.replace("gpt-4o-mini", dir).replace("\"user\"", "\"robot\"")).startsWith(
                "$.input[0].role: unknown role 'robot'"));
    }

    @Test
    void syntaxErrorsDuplicateKeysAndTheRewardFnOption() throws Exception {
        Path f = tmp.resolve("grader.json");
        Files.writeString(f, "{\n  \"type\": \"regex\",\n  \"name\": \"r\"\n  \"pattern\": \"x\"\n}");
        UserInputException e = assertThrows(UserInputException.class, () -> GraderParser.read(f, null));
        assertTrue(e.getMessage().startsWith(f + ":4: not valid JSON"), e.getMessage());
        Files.writeString(f, "{\"type\": \"regex\", \"name\": \"r\", \"pattern\": \"x\", \"pattern\": \"y\"}");
        e = assertThrows(UserInputException.class, () -> GraderParser.read(f, null));
        assertTrue(e.getMessage().contains("Duplicate field 'pattern'"), e.getMessage());
        IOException missing = assertThrows(IOException.class, () -> GraderParser.read(tmp.resolve("none.json"), null));
        assertTrue(missing.getMessage().endsWith("none.json: no such file"), missing.getMessage());
        e = assertThrows(UserInputException.class, () -> GraderParser.rewardFn("happiness"));
        assertTrue(e.getMessage().startsWith("--reward-fn: unknown function 'happiness'"));
        assertThrows(UserInputException.class, () -> GraderParser.rewardFn("regex:("));
        assertThrows(UserInputException.class, () -> GraderParser.rewardFn("length:0"));
    }
}
