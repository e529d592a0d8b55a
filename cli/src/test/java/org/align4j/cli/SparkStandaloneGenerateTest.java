package org.align4j.cli;

import static org.align4j.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;

import org.align4j.cluster.LocalStandalone;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code generate --prompts} on a real standalone cluster (Master, Worker and executor as separate
 * JVMs): align4j's jars and the model's bytes shipped to the executor, ND4J run there, and the output
 * the single-process command's byte for byte.
 */
class SparkStandaloneGenerateTest {

    /** Kept when a test fails: the master's, worker's and executor's logs are in it. */
    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    static Path tmp;
    static LocalStandalone spark;

    @BeforeAll
    static void startCluster() throws Exception {
        spark = LocalStandalone.start(tmp, 1);
        System.setProperty("spark.driver.host", "127.0.0.1");
        System.setProperty("spark.executor.memory", "768m");
    }

    @AfterAll
    static void stopCluster() {
        System.clearProperty("spark.driver.host");
        System.clearProperty("spark.executor.memory");
        spark.close();
    }

    @Test
    void outputIsTheSingleProcessOnes() throws Exception {
        Path prompts = tmp.resolve("prompts.jsonl");
        Files.writeString(prompts, "{\"prompt\": \"Once upon a time\"}\n{\"prompt\": \"The cat\"}\n"
                + "{\"prompt\": \"It was a dark and stormy night\"}\n");
        String[] args = {"generate", "--model", "../examples/base-model", "--prompts", prompts.toString(),
                "--max-new-tokens", "5", "--batch-size", "2", "--seed", "8", "--json"};
        String[] single = run("", args);
        assertEquals("0", single[0], single[2]);
        assertEquals(3, single[1].lines().count());
        String[] cluster = run("", concat(args, "--spark-master", spark.url(), "--spark-partitions", "2"));
        assertEquals("0", cluster[0], cluster[2]);
        assertEquals(single[1], cluster[1]);
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = new String[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
