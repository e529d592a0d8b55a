package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.align4j.core.run.Checkpoints;
import org.align4j.core.run.RunDirectory;

/** A tiny random GPT-2 with its own tokenizer, built through the CLI, and the SIGKILL helper the run tests share. */
final class TinyModel {

    static final String[] WORDS = "the cat dog sat ran on under a mat log big small red blue and then".split(" ");

    private TinyModel() {
    }

    /** The logged losses of a run, asserting that its metric rows are consecutive steps. */
    static List<Double> losses(Path run) throws Exception {
        List<Double> out = new ArrayList<>();
        for (com.fasterxml.jackson.databind.JsonNode m : new RunDirectory(run).metrics()) {
            assertEquals(out.size() + 1, m.get("step").asInt(), "metrics rows are consecutive steps");
            out.add(m.get("loss").asDouble());
        }
        return out;
    }

    /** A preference pair decided by a rule: the chosen response mentions "red", the rejected one does not. */
    static String rulePair(SplittableRandom r) {
        String prompt = "the " + WORDS[r.nextInt(4) + 1];
        String good;
        String bad;
        do {
            good = sentence(r);
        } while (!good.contains("red"));
        do {
            bad = sentence(r);
        } while (bad.contains("red"));
        return org.align4j.core.util.Json.MAPPER.createObjectNode().put("prompt", prompt).put("chosen", " " + good)
                .put("rejected", " " + bad).toString();
    }

    /** {@code n} random sentences, one per line, for a tokenizer corpus. */
    static String corpus(SplittableRandom r, int n) {
        StringBuilder corpus = new StringBuilder();
        for (int i = 0; i < n; i++) {
            corpus.append(sentence(r)).append(".\n");
        }
        return corpus.toString();
    }

    /** Writes {@code n} {@link #rulePair} lines to {@code file} and returns it. */
    static Path writeRulePairs(Path file, SplittableRandom r, int n) throws java.io.IOException {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append(rulePair(r)).append('\n');
        }
        Files.writeString(file, sb);
        return file;
    }

    /** A random sentence of 8 to 27 of {@link #WORDS}. */
    static String sentence(SplittableRandom r) {
        StringBuilder s = new StringBuilder();
        for (int w = 0; w < 8 + r.nextInt(20); w++) {
            s.append(w == 0 ? "" : " ").append(WORDS[r.nextInt(WORDS.length)]);
        }
        return s.toString();
    }

    /** Tokenizer trained on {@code corpus}, then a 2-layer, 64-wide model with a 64-token context in {@code dir}. */
    static Path create(Path tmp, String corpus, String name) throws Exception {
        Files.writeString(tmp.resolve(name + "-corpus.txt"), corpus);
        Path tok = tmp.resolve(name + "-tok");
        assertEquals(0, Align4j.run("tokenizer", "train", "--input", tmp.resolve(name + "-corpus.txt").toString(),
                "--vocab-size", "300", "--out", tok.toString()));
        Path model = tmp.resolve(name);
        assertEquals(0, Align4j.run("init", "--tokenizer", tok.toString(), "--layers", "2", "--d-model", "64",
                "--heads", "4", "--context", "64", "--seed", "1", "--out", model.toString()));
        return model;
    }

    /**
     * Starts the command in a separate JVM and kills it with SIGKILL (no shutdown hooks, no final
     * writes) once it has a checkpoint at step {@code atLeast} or later.
     */
    static void killAfterCheckpoint(Path run, long atLeast, Path log, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "org.align4j.cli.Align4j"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Checkpoints checkpoints = new Checkpoints(new RunDirectory(run));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (p.isAlive() && System.nanoTime() < deadline && checkpoints.latest()
                .map(c -> Long.parseLong(c.getFileName().toString().substring(5)) < atLeast).orElse(true)) {
            Thread.sleep(5);
        }
        if (!p.isAlive()) {
            throw new AssertionError("the run ended before it could be killed: " + Files.readString(log));
        }
        p.destroyForcibly();
        p.waitFor();
    }

    /** A tiny model trained on nothing, a text file of its sentences and a file of rule-decided preference pairs. */
    record TextAndPairs(Path model, Path text, Path pairs) {
    }

    static TextAndPairs textAndPairs(Path tmp, long seed, int n) throws Exception {
        StringBuilder corpus = new StringBuilder();
        StringBuilder jsonl = new StringBuilder();
        StringBuilder pairRows = new StringBuilder();
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < n; i++) {
            String s = sentence(r);
            corpus.append(s).append(".\n");
            jsonl.append("{\"text\": \"").append(s).append(".\"}\n");
            pairRows.append(rulePair(r)).append('\n');
        }
        Path text = tmp.resolve("text.jsonl");
        Files.writeString(text, jsonl);
        Path pairs = tmp.resolve("pairs.jsonl");
        Files.writeString(pairs, pairRows);
        return new TextAndPairs(create(tmp, corpus.toString(), "model"), text, pairs);
    }
}
