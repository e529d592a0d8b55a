package org.align4j.cli;

import static org.align4j.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.util.Json;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code generate --prompts} as Spark jobs on an embedded local[2] (one context for the class): the
 * output is the single-process command's, byte for byte, however many partitions; a plain command
 * never loads Spark.
 */
class SparkGenerateTest {

    static final String MODEL = "../examples/base-model";

    @TempDir
    static Path tmp;
    static Path prompts;

    @BeforeAll
    static void writePrompts() throws Exception {
        prompts = tmp.resolve("prompts.jsonl");
        // ragged lengths, and 7 records in batches of 2: the last batch is short
        Files.writeString(prompts, String.join("\n",
                "{\"prompt\": \"Once upon a time\"}",
                "{\"prompt\": \"The cat\"}",
                "{\"prompt\": \"It was a dark and stormy night, and the\"}",
                "{\"prompt\": \"I\"}",
                "{\"prompt\": \"The film was\"}",
                "{\"prompt\": \"She said that the dog\"}",
                "{\"prompt\": \"Tomorrow\"}") + "\n");
    }

    static String[] generate(String... extra) {
        List<String> args = new ArrayList<>(List.of("generate", "--model", MODEL, "--prompts", prompts.toString(),
                "--max-new-tokens", "6", "--batch-size", "2", "--seed", "5"));
        args.addAll(List.of(extra));
        return run("", args.toArray(new String[0]));
    }

    @Test
    void sampledJsonIsByteIdenticalToTheSingleProcessForOneTwoAndThreePartitions() throws Exception {
        String[] single = generate("--json", "--logprobs", "2");
        assertEquals("0", single[0], single[2]);
        List<String> lines = single[1].lines().toList();
        assertEquals(7, lines.size());
        for (String line : lines) {
            JsonNode o = Json.MAPPER.readTree(line);
            assertTrue(o.get("token_ids").size() > 0, line);
            assertEquals(o.get("token_ids").size(), o.get("top_logprobs").size(), line);
        }
        for (String partitions : new String[] {"1", "2", "3"}) {
            String[] spark = generate("--json", "--logprobs", "2", "--spark-master", "local[2]", "--spark-partitions",
                    partitions);
            assertEquals("0", spark[0], spark[2]);
            assertEquals(single[1], spark[1], partitions + " partitions");
        }
        // the seed is honoured: another seed samples other tokens (the comparison above is not vacuous)
        assertNotEquals(single[1], generate("--json", "--logprobs", "2", "--seed", "6")[1]);
    }

    @Test
    void textOutputWithStopStringsIsTheSameOnSpark() {
        String[] single = generate("--stop", "\n", "--temperature", "0.8", "--top-k", "20");
        String[] spark = generate("--stop", "\n", "--temperature", "0.8", "--top-k", "20", "--spark-master", "local[2]");
        assertEquals("0", spark[0], spark[2]);
        assertEquals(7, single[1].lines().filter("---"::equals).count());
        assertEquals(single[1], spark[1]);
    }

    @Test
    void badMasterUrlIsOneLineNamingTheOption() {
        String[] r = generate("--spark-master", "locl[2]");
        assertEquals("1", r[0]);
        assertTrue(r[2].contains("--spark-master locl[2]: not a Spark master URL; expected local, local[N]"), r[2]);
        assertFalse(r[2].contains("Exception") || r[2].contains("\tat "), r[2]);
        assertEquals("", r[1]);
        String[] unreachable = generate("--spark-master", "spark://127.0.0.1:1");
        assertEquals("1", unreachable[0]);
        assertTrue(unreachable[2].contains("no Spark master answers at 127.0.0.1:1"), unreachable[2]);
    }

    /**
     * In a fresh JVM (this one has Spark loaded by the other tests) with class loading logged: a plain
     * generate loads no class of Spark or Scala; with ALIGN4J_SPARK_MASTER it runs on Spark and prints
     * the same bytes.
     */
    @Test
    void plainCommandLoadsNoSparkClassAndTheEnvironmentVariableSelectsSpark() throws Exception {
        String[] plain = child(null);
        assertEquals("0", plain[0], plain[1]);
        assertTrue(plain[2].contains("org.align4j.cli.GenerateWork"), "the log records our classes");
        assertFalse(plain[2].contains("org.apache.spark."), "a plain command loaded Spark");
        assertFalse(plain[2].contains(" scala."), "a plain command loaded Scala");
        String[] spark = child("local[1]");
        assertEquals("0", spark[0], spark[1]);
        assertTrue(spark[2].contains("org.apache.spark.SparkContext "), "ALIGN4J_SPARK_MASTER ran the job on Spark");
        assertEquals(plain[1], spark[1]);
        assertEquals(7, plain[1].lines().count());
    }

    /** {exit code, stdout, class-load log} of generate in a new JVM with this one's class path and flags. */
    private static String[] child(String sparkMaster) throws Exception {
        return child(tmp, sparkMaster, "generate", "--model", MODEL, "--prompts", prompts.toString(),
                "--max-new-tokens", "4", "--batch-size", "3", "--seed", "2", "--json");
    }

    /**
     * {exit code, stdout, class-load log, stderr} of the command {@code args} in a new JVM with this one's class
     * path and flags, ALIGN4J_SPARK_MASTER set to {@code sparkMaster} (unset when null).
     */
    static String[] child(Path dir, String sparkMaster, String... args) throws Exception {
        Path log = Files.createTempFile(dir, "classes", ".log");
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!a.startsWith("-javaagent") && !a.startsWith("-agentlib")) {
                cmd.add(a);
            }
        }
        cmd.addAll(List.of("-Xlog:class+load=info:file=" + log, "-cp", System.getProperty("java.class.path"),
                Align4j.class.getName()));
        cmd.addAll(List.of(args));
        Path err = Files.createTempFile(dir, "stderr", ".txt");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(err.toFile());
        pb.environment().remove("ALIGN4J_SPARK_MASTER");
        if (sparkMaster != null) {
            pb.environment().put("ALIGN4J_SPARK_MASTER", sparkMaster);
        }
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM finished");
        return new String[] {String.valueOf(p.exitValue()), out, Files.readString(log), Files.readString(err)};
    }
}
