package org.align4j.examples;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.util.AtomicFiles;
import org.align4j.core.util.Json;
import org.align4j.data.jsonl.JsonlWriter;

/**
 * Arithmetic word problems for verifiable-reward RL (RLVR), in the children's-story wording the
 * embedded base model knows: "Mia has 7 apples. Mia finds 5 more apples. How many apples does Mia
 * have now?", answered with worked steps (" 7 + 5 = 12. The answer is 12."), so that a
 * {@code math_answer} grader (the last number of a response) can check them.
 *
 * <p>A problem has one or two steps (addition, subtraction that never goes below zero, and with
 * {@code multiply} a product of two small factors); operands run up to {@code maxOperand}. The
 * held-out problems are drawn first and are disjoint from every other split by their
 * <em>equation</em> (the operations and operands, e.g. {@code 7+5-3}), not only by wording: a
 * held-out problem's arithmetic never occurs in training, so its accuracy measures a skill, not
 * recall. Deterministic per seed.
 */
public final class ArithmeticProblems {

    private static final List<String> NAMES = List.of(
            "Lily", "Tom", "Mia", "Ben", "Sara", "Max", "Anna", "Leo", "Zoe", "Sam", "Ella", "Jack", "Nora", "Finn",
            "Ruby", "Oscar", "Ivy", "Hugo", "Lucy", "Theo", "Ada", "Milo", "Iris", "Noah", "Clara", "Felix", "Maya",
            "Eli", "Rosa", "Luca", "Hannah", "Adam", "Grace", "Alice", "Henry", "Emma", "Lena", "Paul", "Daisy", "Kai");
    private static final List<String> ITEMS = List.of(
            "apples", "cookies", "shells", "stars", "marbles", "pencils", "balloons", "stickers", "flowers", "cherries",
            "carrots", "crayons", "feathers", "stones", "muffins", "books", "ribbons", "buttons", "plums", "leaves");
    private static final List<String> GAIN = List.of("finds %d more %s", "gets %d more %s", "picks %d more %s",
            "buys %d more %s", "is given %d more %s");
    private static final List<String> LOSS = List.of("gives %d %s to %s", "loses %d %s", "eats %d %s",
            "shares %d %s with %s", "drops %d %s");

    /** One problem: the question, the worked answer, the final answer and the equation that identifies it. */
    public record Problem(String question, String worked, long answer, String equation) {
        /** The prompt a model sees: {@code Question: ...\nAnswer:}. */
        public String prompt() {
            return "Question: " + question + "\nAnswer:";
        }
    }

    /**
     * The generator's settings.
     *
     * @param maxOperand largest operand of a sum or difference (at least 2)
     * @param twoStepShare share of problems with two steps, 0 to 1
     * @param multiply whether a step may be a product (factors 2 to 9 for the first step)
     */
    public record Settings(int maxOperand, double twoStepShare, boolean multiply) {
        public Settings {
            if (maxOperand < 2) {
                throw new IllegalArgumentException("maxOperand must be at least 2, got " + maxOperand);
            }
            if (!(twoStepShare >= 0 && twoStepShare <= 1)) {
                throw new IllegalArgumentException("twoStepShare must be in [0, 1], got " + twoStepShare);
            }
        }
    }

    /** What keeps the held-out problems apart from training. */
    public enum Disjoint {
        /** No held-out equation ({@code 7+5-3}) occurs in training: accuracy measures arithmetic on new numbers. */
        EQUATION,
        /** No held-out question occurs in training; its arithmetic may, in other words: accuracy measures known facts in new wording. */
        QUESTION;

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** The example's sizes. */
    public record Sizes(int sftTrain, int sftVal, int rlPrompts, int heldOut) {
    }

    /** The files {@link #write} puts in a directory. */
    public record TaskFiles(Path sftTrain, Path sftVal, Path rlPrompts, Path heldOut, Path grader) {
    }

    private ArithmeticProblems() {
    }

    /** One random problem. */
    public static Problem problem(SplittableRandom rnd, Settings s) {
        String name = pick(rnd, NAMES);
        String other = pick(rnd, NAMES);
        while (other.equals(name)) {
            other = pick(rnd, NAMES);
        }
        String item = pick(rnd, ITEMS);
        StringBuilder q = new StringBuilder();
        StringBuilder w = new StringBuilder();
        StringBuilder eq = new StringBuilder();
        long value;
        if (s.multiply() && rnd.nextInt(3) == 0) {
            int bags = 2 + rnd.nextInt(8);
            int each = 2 + rnd.nextInt(8);
            value = (long) bags * each;
            q.append(name).append(" has ").append(bags).append(" bags with ").append(each).append(' ').append(item)
                    .append(" in each bag.");
            w.append(' ').append(bags).append(" * ").append(each).append(" = ").append(value).append('.');
            eq.append(bags).append('*').append(each);
        } else {
            value = 1 + rnd.nextInt(s.maxOperand());
            q.append(name).append(" has ").append(value).append(' ').append(item).append('.');
            eq.append(value);
        }
        int steps = rnd.nextDouble() < s.twoStepShare() ? 2 : 1;
        for (int i = 0; i < steps; i++) {
            boolean gain = value == 0 || rnd.nextBoolean();
            long n = gain ? 1 + rnd.nextInt(s.maxOperand()) : 1 + rnd.nextLong(value);
            String template = gain ? pick(rnd, GAIN) : pick(rnd, LOSS);
            q.append(i == 0 ? " " : " Then ").append(name).append(' ')
                    .append(String.format(template, n, item, other)).append('.');
            long next = gain ? value + n : value - n;
            w.append(' ').append(value).append(gain ? " + " : " - ").append(n).append(" = ").append(next).append('.');
            eq.append(gain ? '+' : '-').append(n);
            value = next;
        }
        q.append(" How many ").append(item).append(" does ").append(name).append(" have now?");
        w.append(" The answer is ").append(value).append('.');
        return new Problem(q.toString(), w.toString(), value, eq.toString());
    }

    /**
     * The splits: held-out problems first (distinct equations), then SFT training, SFT validation
     * and RL prompts, none of whose equations is a held-out one. Within the training side an
     * equation may recur in other words (as in any word-problem corpus).
     */
    public static List<List<Problem>> splits(Sizes sizes, Settings settings, long seed) {
        return splits(sizes, settings, seed, Disjoint.EQUATION);
    }

    /** The splits, held-out problems kept apart by {@code disjoint}. */
    public static List<List<Problem>> splits(Sizes sizes, Settings settings, long seed, Disjoint disjoint) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Set<String> heldOutKeys = new HashSet<>();
        List<Problem> heldOut = new ArrayList<>();
        int tries = 0;
        int limit = 100 * (sizes.heldOut() + sizes.sftTrain() + sizes.sftVal() + sizes.rlPrompts()) + 10_000;
        while (heldOut.size() < sizes.heldOut()) {
            if (++tries > limit) {
                throw new IllegalStateException(tooFew(sizes.heldOut() + " distinct held-out equations", settings));
            }
            Problem p = problem(rnd, settings);
            String key = disjoint == Disjoint.EQUATION ? p.equation() : p.question();
            if (heldOutKeys.add(key)) {
                heldOut.add(p);
            }
        }
        List<List<Problem>> out = new ArrayList<>();
        out.add(heldOut);
        Set<String> questions = new HashSet<>();
        heldOut.forEach(p -> questions.add(p.question()));
        for (int size : new int[] {sizes.sftTrain(), sizes.sftVal(), sizes.rlPrompts()}) {
            List<Problem> split = new ArrayList<>();
            while (split.size() < size) {
                if (++tries > limit) {
                    throw new IllegalStateException(tooFew("problems outside the held-out equations", settings));
                }
                Problem p = problem(rnd, settings);
                boolean heldOutOne = disjoint == Disjoint.EQUATION && heldOutKeys.contains(p.equation());
                if (!heldOutOne && questions.add(p.question())) {
                    split.add(p);
                }
            }
            out.add(split);
        }
        return out;
    }

    private static String tooFew(String what, Settings s) {
        return "too few " + what + " with operands up to " + s.maxOperand() + "; raise the operand limit or ask for"
                + " fewer problems";
    }

    /** Writes the example into {@code dir}: SFT data (prompt-completion), RL prompts and held-out problems (prompt, answer), and the grader. */
    public static TaskFiles write(Path dir, Sizes sizes, Settings settings, long seed, Disjoint disjoint)
            throws IOException {
        List<List<Problem>> s = splits(sizes, settings, seed, disjoint);
        Files.createDirectories(dir);
        TaskFiles f = files(dir);
        JsonlWriter.write(f.heldOut(), prompts(s.get(0)));
        JsonlWriter.write(f.sftTrain(), completions(s.get(1)));
        JsonlWriter.write(f.sftVal(), completions(s.get(2)));
        JsonlWriter.write(f.rlPrompts(), prompts(s.get(3)));
        ObjectNode g = Json.MAPPER.createObjectNode().put("type", "math_answer").put("name", "answer")
                .put("input", "{{sample.output_text}}").put("reference", "{{item.answer}}").put("tolerance", 0);
        AtomicFiles.writeString(f.grader(), Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(g) + "\n");
        return f;
    }

    /** Where {@link #write} puts the files in {@code dir}. */
    public static TaskFiles files(Path dir) {
        return new TaskFiles(dir.resolve("sft.train.jsonl"), dir.resolve("sft.val.jsonl"),
                dir.resolve("prompts.train.jsonl"), dir.resolve("heldout.jsonl"), dir.resolve("grader.json"));
    }

    private static List<JsonNode> prompts(List<Problem> problems) {
        List<JsonNode> rows = new ArrayList<>();
        for (Problem p : problems) {
            rows.add(Json.MAPPER.createObjectNode().put("prompt", p.prompt()).put("answer", String.valueOf(p.answer()))
                    .put("equation", p.equation()));
        }
        return rows;
    }

    private static List<JsonNode> completions(List<Problem> problems) {
        List<JsonNode> rows = new ArrayList<>();
        for (Problem p : problems) {
            rows.add(Json.MAPPER.createObjectNode().put("prompt", p.prompt()).put("completion", p.worked()));
        }
        return rows;
    }

    private static <T> T pick(SplittableRandom rnd, List<T> list) {
        return list.get(rnd.nextInt(list.size()));
    }
}
