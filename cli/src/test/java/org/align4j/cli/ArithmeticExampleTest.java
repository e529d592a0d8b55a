package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.util.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code align4j examples arithmetic}: the same files for the same seed, held-out problems whose
 * equations occur in no training file (equations read back from the worked answers and
 * re-evaluated here), and the written grader, run by {@code align4j grade}, scoring a correct
 * worked answer 1 and a wrong one 0.
 */
class ArithmeticExampleTest {

    @TempDir
    Path tmp;

    static final List<String> FILES = List.of("sft.train.jsonl", "sft.val.jsonl", "prompts.train.jsonl",
            "heldout.jsonl", "grader.json");
    static final Pattern STEP = Pattern.compile(" (\\d+) ([-+*]) (\\d+) = (\\d+)\\.");

    Path generate(String name, long seed, String... extra) {
        Path dir = tmp.resolve(name);
        List<String> args = new ArrayList<>(List.of("examples", "arithmetic", "--out", dir.toString(), "--seed",
                String.valueOf(seed), "--sft-train", "400", "--sft-val", "20", "--rl-prompts", "100", "--heldout", "60"));
        args.addAll(List.of(extra));
        Object[] r = BadInputTest.run(null, args.toArray(new String[0]));
        assertEquals(0, r[0], (String) r[1]);
        return dir;
    }

    static List<JsonNode> read(Path f) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String l : Files.readAllLines(f)) {
            out.add(Json.MAPPER.readTree(l));
        }
        return out;
    }

    /** The equation a worked answer computes ("7+5-3"), checking every step's arithmetic and the final answer. */
    static String equation(String worked) {
        Matcher m = STEP.matcher(worked);
        StringBuilder eq = new StringBuilder();
        long carried = -1;
        while (m.find()) {
            long a = Long.parseLong(m.group(1));
            long b = Long.parseLong(m.group(3));
            long c = Long.parseLong(m.group(4));
            long expected = switch (m.group(2)) {
                case "+" -> a + b;
                case "-" -> a - b;
                default -> a * b;
            };
            assertEquals(expected, c, worked);
            assertTrue(c >= 0, worked);
            if (carried < 0) {
                eq.append(a);
            } else {
                assertEquals(carried, a, "a step starts from the previous result: " + worked);
            }
            eq.append(m.group(2)).append(b);
            carried = c;
        }
        assertTrue(carried >= 0, "no step in " + worked);
        assertTrue(worked.endsWith(" The answer is " + carried + "."), worked);
        return eq.toString();
    }

    /** The value of an equation such as "4*6+3-2", evaluated left to right (a product comes first only). */
    static long evaluate(String equation) {
        Matcher m = Pattern.compile("([-+*]?)(\\d+)").matcher(equation);
        long v = 0;
        while (m.find()) {
            long n = Long.parseLong(m.group(2));
            v = switch (m.group(1)) {
                case "" -> n;
                case "+" -> v + n;
                case "-" -> v - n;
                default -> v * n;
            };
        }
        return v;
    }

    @Test
    void sameSeedSameFilesAndOtherSeedOtherProblems() throws Exception {
        Path a = generate("a", 5, "--multiply");
        Path b = generate("b", 5, "--multiply");
        Path c = generate("c", 6, "--multiply");
        for (String f : FILES) {
            assertArrayEquals(Files.readAllBytes(a.resolve(f)), Files.readAllBytes(b.resolve(f)), f);
        }
        assertNotEquals(Files.readString(a.resolve("heldout.jsonl")), Files.readString(c.resolve("heldout.jsonl")));
        // an existing example is kept without --force
        Object[] again = BadInputTest.run(null, "examples", "arithmetic", "--out", a.resolve("sft.train.jsonl")
                .toString());
        assertNotEquals(0, again[0], (String) again[1]);
    }

    @Test
    void heldOutEquationsOccurInNoTrainingFile() throws Exception {
        Path dir = generate("d", 7, "--multiply");
        List<JsonNode> heldOut = read(dir.resolve("heldout.jsonl"));
        assertEquals(60, heldOut.size());
        Set<String> heldOutEquations = new HashSet<>();
        Set<String> heldOutPrompts = new HashSet<>();
        for (JsonNode h : heldOut) {
            String eq = h.get("equation").asText();
            assertTrue(heldOutEquations.add(eq), "held-out equations are distinct: " + eq);
            heldOutPrompts.add(h.get("prompt").asText());
            assertEquals(String.valueOf(evaluate(eq)), h.get("answer").asText(), h.toString());
        }
        int checked = 0;
        boolean products = false;
        for (String f : List.of("sft.train.jsonl", "sft.val.jsonl")) {
            for (JsonNode r : read(dir.resolve(f))) {
                String eq = equation(r.get("completion").asText());
                products |= eq.contains("*");
                assertFalse(heldOutEquations.contains(eq), f + ": held-out equation " + eq);
                assertFalse(heldOutPrompts.contains(r.get("prompt").asText()), f);
                checked++;
            }
        }
        for (JsonNode r : read(dir.resolve("prompts.train.jsonl"))) {
            assertFalse(heldOutEquations.contains(r.get("equation").asText()), r.toString());
            assertEquals(String.valueOf(evaluate(r.get("equation").asText())), r.get("answer").asText());
            checked++;
        }
        assertEquals(520, checked);
        assertTrue(products, "--multiply gives products");
    }

    @Test
    void disjointByQuestionSharesArithmeticButNoQuestion() throws Exception {
        Path dir = generate("q", 9, "--disjoint", "question", "--max-operand", "5");
        Set<String> heldOutPrompts = new HashSet<>();
        Set<String> heldOutEquations = new HashSet<>();
        for (JsonNode h : read(dir.resolve("heldout.jsonl"))) {
            assertTrue(heldOutPrompts.add(h.get("prompt").asText()), "held-out questions are distinct");
            heldOutEquations.add(h.get("equation").asText());
        }
        int sharedEquations = 0;
        for (JsonNode r : read(dir.resolve("sft.train.jsonl"))) {
            assertFalse(heldOutPrompts.contains(r.get("prompt").asText()), r.toString());
            sharedEquations += heldOutEquations.contains(equation(r.get("completion").asText())) ? 1 : 0;
        }
        for (JsonNode r : read(dir.resolve("prompts.train.jsonl"))) {
            assertFalse(heldOutPrompts.contains(r.get("prompt").asText()), r.toString());
        }
        // operands up to 5 give few equations: with only the wording kept apart, training shares them
        assertTrue(sharedEquations > 100, "shared equations: " + sharedEquations);
    }

    @Test
    void theWrittenGraderScoresACorrectWorkedAnswerOneAndAWrongOneZero() throws Exception {
        Path dir = generate("g", 8);
        List<JsonNode> sft = read(dir.resolve("sft.train.jsonl")).subList(0, 30);
        StringBuilder samples = new StringBuilder();
        for (JsonNode r : sft) {
            String worked = r.get("completion").asText();
            long answer = evaluate(equation(worked));
            // the item as the RL prompts hold it (answer as text), the response a worked answer
            samples.append(Json.MAPPER.createObjectNode().put("answer", String.valueOf(answer))
                    .put("response", worked)).append('\n');
            String wrong = worked.replace("The answer is " + answer + ".", "The answer is " + (answer + 1) + ".");
            samples.append(Json.MAPPER.createObjectNode().put("answer", String.valueOf(answer))
                    .put("response", wrong)).append('\n');
        }
        Path data = tmp.resolve("samples.jsonl");
        Files.writeString(data, samples);
        Path out = tmp.resolve("graded.jsonl");
        Object[] r = BadInputTest.run(null, "grade", "--grader", dir.resolve("grader.json").toString(), "--data",
                data.toString(), "--out", out.toString());
        assertEquals(0, r[0], (String) r[1]);
        List<JsonNode> graded = read(out);
        assertEquals(60, graded.size());
        for (int i = 0; i < graded.size(); i++) {
            assertEquals(i % 2 == 0 ? 1.0 : 0.0, graded.get(i).get("score").asDouble(), graded.get(i).toString());
        }
        // the RL prompts carry what the grader reads
        for (JsonNode p : read(dir.resolve("prompts.train.jsonl"))) {
            assertTrue(p.get("answer").isTextual() && p.get("prompt").asText().endsWith("\nAnswer:"), p.toString());
        }
    }

    @Test
    void impossibleSizesAreRefusedWithOneLine() {
        Object[] r = BadInputTest.run(null, "examples", "arithmetic", "--out", tmp.resolve("x").toString(),
                "--max-operand", "2", "--two-step-share", "0", "--heldout", "500");
        assertEquals(1, r[0], (String) r[1]);
        assertTrue(((String) r[1]).contains("too few 500 distinct held-out equations with operands up to 2"),
                (String) r[1]);
    }
}
