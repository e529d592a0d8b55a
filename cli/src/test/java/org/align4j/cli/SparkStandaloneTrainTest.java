package org.align4j.cli;

import static org.align4j.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import org.align4j.cluster.LocalStandalone;
import org.align4j.core.run.RunDirectory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * A DPO run data-parallel on a real standalone cluster (a Master and two Workers as separate JVMs,
 * each Worker's executor a further one, align4j's jars and the model's and data's bytes shipped),
 * one Worker killed with SIGKILL, executor and all, in the middle of the run: Spark reruns the lost
 * slices on the surviving executor and the run ends with the losses and weights of an uninterrupted
 * data-parallel run, bit for bit (executors compute with the driver's thread count, so an executor
 * process gives what the embedded one gives).
 */
class SparkStandaloneTrainTest {

    /** Kept when a test fails: the master's, workers' and executors' logs are in it. */
    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    static Path tmp;
    static LocalStandalone spark;

    @BeforeAll
    static void startCluster() throws Exception {
        spark = LocalStandalone.start(tmp, 2);
        System.setProperty("spark.driver.host", "127.0.0.1");
        System.setProperty("spark.executor.memory", "512m");
    }

    @AfterAll
    static void stopCluster() {
        System.clearProperty("spark.driver.host");
        System.clearProperty("spark.executor.memory");
        spark.close();
    }

    static final int STEPS = 8;

    static String[] dpo(TinyModel.TextAndPairs data, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("dpo", "--model", data.model().toString(), "--train",
                data.pairs().toString(), "--out", out.toString(), "--max-steps", String.valueOf(STEPS), "--batch-size",
                "4", "--grad-accum", "2", "--lr", "3e-3", "--warmup-steps", "0", "--seed", "7", "--save-every", "100"));
        a.addAll(List.of(extra));
        return a.toArray(new String[0]);
    }

    @Test
    void aWorkerKilledMidRunLeavesTheResultUnchanged() throws Exception {
        TinyModel.TextAndPairs data = TinyModel.textAndPairs(tmp, 13, 40);
        // the uninterrupted run: on local[2] with the same slices (SparkTrainTest holds it to the single process)
        Path local = tmp.resolve("local");
        String[] l = run("", dpo(data, local, "--spark-master", "local[2]", "--spark-partitions", "2"));
        assertEquals("0", l[0], l[2]);
        Path cluster = tmp.resolve("cluster");
        AtomicInteger stepsAtKill = new AtomicInteger(-1);
        Thread killer = new Thread(() -> {
            try {
                RunDirectory run = new RunDirectory(cluster);
                long deadline = System.nanoTime() + 120_000_000_000L;
                while (System.nanoTime() < deadline) {
                    if (Files.isRegularFile(run.metricsFile()) && run.metrics().size() >= 2) {
                        break;
                    }
                    Thread.sleep(20);
                }
                stepsAtKill.set(run.metrics().size());
                spark.killWorker(0);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        killer.start();
        String[] c = run("", dpo(data, cluster, "--spark-master", spark.url(), "--spark-partitions", "2"));
        killer.join();
        assertEquals("0", c[0], c[2]);
        assertTrue(stepsAtKill.get() >= 2 && stepsAtKill.get() < STEPS, "killed mid-run, after "
                + stepsAtKill.get() + " of " + STEPS + " steps");
        assertEquals(STEPS, TinyModel.losses(cluster).size());
        assertEquals(TinyModel.losses(local), TinyModel.losses(cluster));
        SparkTrainTest.assertIdenticalWeights(local, cluster);
    }
}
