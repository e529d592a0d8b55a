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
 * process gives what the embedded one gives). A PPO run on what is left of the cluster (rollouts and
 * updates in the surviving executor's process) gives the embedded run's samples and weights.
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
    void dpoWithAWorkerKilledMidRunAndPpoOnTheRestGiveTheEmbeddedResults() throws Exception {
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

        // PPO on what is left of the cluster: rollouts sampled and updates computed in the surviving
        // executor's process give the embedded run's samples, losses and weights, bit for bit
        Path prompts = tmp.resolve("prompts.jsonl");
        Files.writeString(prompts, "{\"prompt\": \"the cat\"}\n{\"prompt\": \"a big\"}\n{\"prompt\": \"the\"}\n"
                + "{\"prompt\": \"then a\"}\n");
        Path ppoLocal = ppo(data, prompts, tmp.resolve("ppo-local"), "local[2]");
        Path ppoCluster = ppo(data, prompts, tmp.resolve("ppo-cluster"), spark.url());
        assertEquals(Files.readString(ppoLocal.resolve("samples/step-2.jsonl")),
                Files.readString(ppoCluster.resolve("samples/step-2.jsonl")));
        assertEquals(TinyModel.losses(ppoLocal), TinyModel.losses(ppoCluster));
        SparkTrainTest.assertIdenticalWeights(ppoLocal, ppoCluster);
        assertIdentical(ppoLocal.resolve("final/value"), ppoCluster.resolve("final/value"));
    }

    static Path ppo(TinyModel.TextAndPairs data, Path prompts, Path out, String master) {
        String[] r = run("", "ppo", "--model", data.model().toString(), "--reward-fn", "regex:cat", "--prompts",
                prompts.toString(), "--out", out.toString(), "--max-steps", "2", "--batch-size", "4",
                "--samples-per-prompt", "2", "--max-new-tokens", "6", "--lr", "1e-3", "--seed", "3", "--save-every",
                "10", "--ppo-epochs", "1", "--sample-every", "1", "--spark-master", master, "--spark-partitions", "2");
        assertEquals("0", r[0], r[2]);
        return out;
    }

    static void assertIdentical(Path modelA, Path modelB) throws Exception {
        assertEquals(-1, Files.mismatch(modelA.resolve("model.safetensors"), modelB.resolve("model.safetensors")),
                modelA + " and " + modelB);
    }
}
