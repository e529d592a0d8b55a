package org.align4j.reward.grader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.util.Json;
import org.align4j.reward.fn.RewardFunction;
import org.junit.jupiter.api.Test;

/** Every grader type against values computed by hand, read from JSON as a user writes it. */
class GradersTest {

    static Grader parse(String json) throws IOException {
        return GraderParser.parse(Json.MAPPER.readTree(json), "g.json", null);
    }

    static JsonNode item(String json) throws IOException {
        return Json.MAPPER.readTree(json);
    }

    static double grade(Grader g, String item, String output) throws Exception {
        return g.grade(new GraderInput(item(item), output, -1));
    }

    @Test
    void stringCheckOperations() throws Exception {
        String item = "{\"answer\": \"Paris\"}";
        for (Object[] c : new Object[][] {{"eq", "Paris", 1}, {"eq", "paris", 0}, {"ne", "paris", 1}, {"ne", "Paris", 0},
                {"like", "It is Paris.", 1}, {"like", "It is PARIS.", 0}, {"ilike", "It is PARIS.", 1},
                {"ilike", "Lyon", 0}}) {
            Grader g = parse("{\"type\": \"string_check\", \"name\": \"city\", \"input\": \"{{ sample.output_text }}\","
                    + " \"reference\": \"{{item.answer}}\", \"operation\": \"" + c[0] + "\"}");
            assertEquals(((Integer) c[2]).doubleValue(), grade(g, item, (String) c[1]), 0, c[0] + " " + c[1]);
        }
    }

    @Test
    void templatesReadNestedFieldsIndicesAndNumbers() throws Exception {
        Grader g = parse("{\"type\": \"string_check\", \"name\": \"n\", \"input\": \"{{sample.output_text}}\","
                + " \"reference\": \"{{item.meta.answers[1]}}-{{item.n}}\", \"operation\": \"eq\"}");
        assertEquals(1, grade(g, "{\"meta\": {\"answers\": [\"x\", \"y\"]}, \"n\": 3}", "y-3"), 0);
        assertEquals("{{item.meta.answers[1]}}", g.checkItem(item("{\"meta\": {\"answers\": [\"x\"]}, \"n\": 3}")));
        assertNull(g.checkItem(item("{\"meta\": {\"answers\": [\"x\", \"y\"]}, \"n\": 3}")));
        GraderException e = assertThrows(GraderException.class, () -> grade(g, "{\"n\": 3}", "y-3"));
        assertTrue(e.getMessage().contains("{{item.meta.answers[1]}}"), e.getMessage());
    }

    @Test
    void textSimilarityUsesTheSharedMetrics() throws Exception {
        String item = "{\"reference\": \"the cat sat on the mat\"}";
        // "on the mat sat the cat" against "the cat sat on the mat", by hand
        Map<String, Double> expected = Map.of(
                "meteor", 0.9375, // six matches in three chunks (on the mat | sat | the cat): 1 - 0.5 (3/6)^3
                "rouge_1", 1.0, // the same six words
                "rouge_2", 0.6, // bigrams "on the", "the mat", "the cat" of 5 and 5
                "rouge_l", 0.5); // LCS 3 ("on the mat") of 6 and 6
        for (String m : new String[] {"meteor", "rouge_1", "rouge_2", "rouge_l"}) {
            Grader g = parse("{\"type\": \"text_similarity\", \"name\": \"s\", \"input\": \"{{sample.output_text}}\","
                    + " \"reference\": \"{{item.reference}}\", \"evaluation_metric\": \"" + m + "\"}");
            assertEquals(expected.get(m), grade(g, item, "on the mat sat the cat"), 1e-12, m);
        }
        // gleu: 6 matching 1-grams, 3 2-grams, 1 3-gram ("on the mat"), no 4-gram: 10 of max(6+5+4+3, 18)
        Grader gleu = parse("{\"type\": \"text_similarity\", \"name\": \"s\", \"input\": \"{{sample.output_text}}\","
                + " \"reference\": \"{{item.reference}}\", \"evaluation_metric\": \"gleu\"}");
        assertEquals(10.0 / 18, grade(gleu, item, "on the mat sat the cat"), 1e-12);
        // fuzzy_match: "cat" vs "cart": LCS 3, 2 x 3 / 7
        Grader fuzzy = parse("{\"type\": \"text_similarity\", \"name\": \"s\", \"input\": \"{{sample.output_text}}\","
                + " \"reference\": \"cart\", \"evaluation_metric\": \"fuzzy_match\", \"pass_threshold\": 0.5}");
        assertEquals(6.0 / 7, grade(fuzzy, "{}", "cat"), 1e-12);
        // bleu of identical sentences is 1; of a three-word answer (no 4-gram) 0
        Grader bleu = parse("{\"type\": \"text_similarity\", \"name\": \"s\", \"input\": \"{{sample.output_text}}\","
                + " \"reference\": \"{{item.reference}}\", \"evaluation_metric\": \"bleu\"}");
        assertEquals(1.0, grade(bleu, item, "the cat sat on the mat"), 1e-12);
        assertEquals(0.0, grade(bleu, item, "the cat sat"), 0);
    }

    @Test
    void regexLengthAndSentimentAsTheRewardFunctions() throws Exception {
        Grader red = parse("{\"type\": \"regex\", \"name\": \"red\", \"pattern\": \"\\\\bred\\\\b\"}");
        assertEquals(1, grade(red, "{}", "a red ball"), 0);
        assertEquals(0, grade(red, "{}", "a reddish ball"), 0);
        // catastrophic backtracking fails the sample after the time limit instead of hanging
        // (a backreference defeats java.util.regex's loop memoisation: ((a+)+)\2b on 28 a's takes about 17 s)
        Grader slow = parse("{\"type\": \"regex\", \"name\": \"slow\", \"pattern\": \"((a+)+)\\\\2b\"}");
        long t0 = System.nanoTime();
        GraderException timeout = assertThrows(GraderException.class, () -> grade(slow, "{}", "a".repeat(28)));
        assertTrue(timeout.getMessage().contains("ran over 2 s"), timeout.getMessage());
        assertTrue(System.nanoTime() - t0 < 10_000_000_000L);
        Grader len = parse("{\"type\": \"length\", \"name\": \"len\", \"target\": 10}");
        assertEquals(0.5, len.grade(new GraderInput(item("{}"), "", 15)), 1e-12);
        assertTrue(len.needsTokens());
        assertThrows(GraderException.class, () -> grade(len, "{}", "no token count"));
        Grader joy = parse("{\"type\": \"sentiment\", \"name\": \"joy\"}");
        // AFINN-165: happy +3, sad -2, over the square root of seven words
        assertEquals((3 - 2) / Math.sqrt(7), grade(joy, "{}", "Mia was happy, then Tom was sad."), 1e-12);
        // --reward-fn values are the same graders
        assertTrue(GraderParser.rewardFn("regex:\\bred\\b") instanceof RegexGrader);
        assertTrue(GraderParser.rewardFn("length:10") instanceof LengthGrader);
        assertTrue(GraderParser.rewardFn("sentiment") instanceof SentimentGrader);
        assertEquals(0.5, RewardFunction.parse("length:10").score("p", "", 5), 1e-12);
    }

    @Test
    void jsonSchemaValidAndInvalidResponses() throws Exception {
        Grader g = parse("""
                {"type": "json_schema", "name": "person", "schema": {
                  "type": "object", "required": ["name", "age"], "additionalProperties": false,
                  "properties": {
                    "name": {"type": "string", "minLength": 2, "maxLength": 5},
                    "age": {"type": "integer", "minimum": 0, "maximum": 150},
                    "tags": {"type": "array", "items": {"enum": ["a", "b"]}},
                    "score": {"type": ["number", "null"]}}}}""");
        assertEquals(1, grade(g, "{}", " {\"name\": \"Ann\", \"age\": 30} "), 0);
        assertEquals(1, grade(g, "{}", "{\"name\": \"Ann\", \"age\": 30.0, \"tags\": [\"a\", \"b\"], \"score\": null}"), 0);
        for (String bad : new String[] {
                "{\"name\": \"Ann\"}", // age required
                "{\"name\": \"A\", \"age\": 3}", // minLength
                "{\"name\": \"Annabel\", \"age\": 3}", // maxLength
                "{\"name\": \"Ann\", \"age\": 3.5}", // integer
                "{\"name\": \"Ann\", \"age\": -1}", // minimum
                "{\"name\": \"Ann\", \"age\": 151}", // maximum
                "{\"name\": \"Ann\", \"age\": 3, \"tags\": [\"c\"]}", // enum of items
                "{\"name\": \"Ann\", \"age\": 3, \"score\": \"high\"}", // type list
                "{\"name\": \"Ann\", \"age\": 3, \"extra\": 1}", // additionalProperties
                "[1, 2]", "not json", "{\"name\": \"Ann\", \"age\": 3} trailing", ""}) {
            assertEquals(0, grade(g, "{}", bad), 0, bad);
        }
    }

    @Test
    void mathAnswerBoxedNegativeDecimalCommasAndTolerance() throws Exception {
        Grader g = parse("{\"type\": \"math_answer\", \"name\": \"m\", \"reference\": \"{{item.answer}}\"}");
        assertEquals(1, grade(g, "{\"answer\": \"42\"}", "6 x 7 = 42, so the answer is \\boxed{42}."), 0);
        // the last boxed answer wins over later numbers
        assertEquals(1, grade(g, "{\"answer\": \"12\"}", "\\boxed{7} no, \\boxed{12}. Checked with 3 apples."), 0);
        assertEquals(0, grade(g, "{\"answer\": \"3\"}", "\\boxed{12}. Checked with 3 apples."), 0);
        // without a box, the last number; a minus sign counts, but not as subtraction
        assertEquals(1, grade(g, "{\"answer\": \"-5\"}", "It drops to -5"), 0);
        assertEquals(1, grade(g, "{\"answer\": \"3\"}", "so 10-3"), 0);
        assertEquals(1, grade(g, "{\"answer\": \"2.5\"}", "half of 5 is 2.50."), 0);
        assertEquals(1, grade(g, "{\"answer\": 1234567}", "The total is 1,234,567 dollars"), 0);
        assertEquals(1, grade(g, "{\"answer\": \"#### 72\"}", "She sold 72"), 0); // GSM8K-style reference
        assertEquals(1, grade(g, "{\"answer\": \"0.75\"}", "\\boxed{\\frac{3}{4}}"), 0);
        assertEquals(1, grade(g, "{\"answer\": \"x+1\"}", "\\boxed{x + 1}"), 0); // not numbers: compared as text
        assertEquals(0, grade(g, "{\"answer\": \"4\"}", "no answer here"), 0);
        assertEquals(0, grade(g, "{\"answer\": \"0.3333\"}", "1/3 is about 0.33"), 0);
        Grader loose = parse("{\"type\": \"math_answer\", \"name\": \"m\", \"reference\": \"{{item.answer}}\","
                + " \"tolerance\": 0.01}");
        assertEquals(1, grade(loose, "{\"answer\": \"0.3333\"}", "1/3 is about 0.33"), 0);
        assertEquals(0, grade(loose, "{\"answer\": \"0.3333\"}", "1/3 is about 0.3"), 0);
        GraderException e = assertThrows(GraderException.class, () -> grade(g, "{\"answer\": \" \"}", "4"));
        assertTrue(e.getMessage().contains("empty"), e.getMessage());
    }

    @Test
    void multiCombinesNamedGradersWithItsFormula() throws Exception {
        Grader g = parse("""
                {"type": "multi", "name": "combined", "calculate_output": "0.5 * exact + 0.5 * max(fuzzy, 0.25)",
                 "graders": {
                   "exact": {"type": "string_check", "name": "exact", "input": "{{sample.output_text}}",
                             "reference": "{{item.answer}}", "operation": "eq"},
                   "fuzzy": {"type": "text_similarity", "name": "fuzzy", "input": "{{sample.output_text}}",
                             "reference": "{{item.answer}}", "evaluation_metric": "fuzzy_match"}}}""");
        assertEquals(1.0, grade(g, "{\"answer\": \"cart\"}", "cart"), 1e-12);
        // exact 0, fuzzy 6/7
        assertEquals(0.5 * 6 / 7, grade(g, "{\"answer\": \"cart\"}", "cat"), 1e-12);
        // nothing in common: max(0, 0.25)
        assertEquals(0.125, grade(g, "{\"answer\": \"cart\"}", "xyz"), 1e-12);
        MultiGrader m = (MultiGrader) g;
        assertEquals(Map.of("exact", 0.0, "fuzzy", 6.0 / 7), m.parts(new GraderInput(item("{\"answer\": \"cart\"}"),
                "cat", -1)));
        assertEquals("{{item.answer}}", g.checkItem(item("{}")));
    }

    @Test
    void theReadmeExample() throws Exception {
        Grader g = parse("""
                {"type": "multi", "name": "answer", "calculate_output": "0.9 * correct + 0.1 * boxed",
                 "graders": {
                   "correct": {"type": "math_answer", "name": "correct", "reference": "{{item.answer}}"},
                   "boxed":   {"type": "regex", "name": "boxed", "pattern": "\\\\\\\\boxed\\\\{"}}}""");
        assertEquals(1.0, grade(g, "{\"answer\": \"7\"}", "3 + 4 = \\boxed{7}"), 1e-12);
        assertEquals(0.9, grade(g, "{\"answer\": \"7\"}", "3 + 4 = 7"), 1e-12);
        assertEquals(0.1, grade(g, "{\"answer\": \"7\"}", "\\boxed{8}"), 1e-12);
    }
}
