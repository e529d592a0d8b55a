package org.align4j.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.align4j.train.scale.Cluster;
import org.align4j.train.scale.Clusters;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real standalone cluster: Spark's Master and a Worker started as separate JVMs on localhost, the
 * worker's executor a third; a job submitted to it runs in another process, gets align4j's classes
 * as shipped jars and the shipped files as bytes, and returns its results in input order.
 */
class StandaloneClusterTest {

    /** Kept when a test fails: the master's, worker's and executor's logs are in it. */
    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    static Path tmp;
    static LocalStandalone spark;
    static String url;

    @BeforeAll
    static void startCluster() throws Exception {
        spark = LocalStandalone.start(tmp, 2);
        url = spark.url();
        // the driver (this JVM) must be reachable by the executor at an address that resolves
        System.setProperty("spark.driver.host", "127.0.0.1");
        System.setProperty("spark.executor.memory", "512m");
    }

    @AfterAll
    static void stopCluster() {
        System.clearProperty("spark.driver.host");
        System.clearProperty("spark.executor.memory");
        spark.close();
    }

    @Test
    void jobRunsInAnExecutorProcessWithShippedJarsAndFiles() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("model"));
        Files.writeString(dir.resolve("config.json"), "{\"layers\": 2}");
        Cluster cluster = Clusters.connect(url, "--spark-master");
        long driverPid = ProcessHandle.current().pid();
        List<Integer> items = List.of(0, 1, 2, 3, 4, 5, 6);
        // the work is a class of this module's tests: it reaches the executor only in the shipped jars
        List<String> out = cluster.mapInOrder(items, 3, Map.of("model", dir), (slice, files) -> {
            String config = Files.readString(files.path("model").resolve("config.json"));
            List<String> r = new ArrayList<>();
            for (int i : slice) {
                r.add(i + "|" + Cluster.sliceBounds(7, 3)[1] + "|" + config + "|" + ProcessHandle.current().pid()
                        + "|" + files.path("model"));
            }
            return r;
        });
        assertEquals(7, out.size());
        Set<String> pids = new HashSet<>();
        for (int i = 0; i < 7; i++) {
            String[] f = out.get(i).split("\\|");
            assertEquals(String.valueOf(i), f[0], "input order");
            assertEquals("3", f[1]);
            assertEquals("{\"layers\": 2}", f[2], "shipped bytes");
            assertNotEquals(String.valueOf(driverPid), f[3], "ran in an executor, not the driver");
            assertNotEquals(dir.toString(), f[4], "an executor's copy, not the driver's path");
            pids.add(f[3]);
        }
        assertTrue(pids.size() <= 2, "two workers of one core: at most two executors");
    }

    @Test
    void aWorkerKilledMidJobIsReplacedByTaskRetryWithTheSameResults() throws Exception {
        Path marks = Files.createDirectories(tmp.resolve("marks"));
        Cluster cluster = Clusters.connect(url, "--spark-master");
        List<Integer> items = List.of(0, 1, 2, 3, 4, 5, 6, 7);
        Thread killer = new Thread(() -> {
            try {
                // once both executors run a slice, the first worker dies with its executor
                long deadline = System.nanoTime() + 120_000_000_000L;
                while (System.nanoTime() < deadline) {
                    try (var s = Files.list(marks)) {
                        if (s.count() >= 2) {
                            break;
                        }
                    }
                    Thread.sleep(100);
                }
                spark.killWorker(0);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        killer.start();
        String marksDir = marks.toString(); // a Path is not serializable
        List<String> out = cluster.mapInOrder(items, 4, Map.of(), (slice, files) -> {
            Files.writeString(Path.of(marksDir).resolve("slice-" + slice.get(0) + "-" + ProcessHandle.current().pid()), "");
            Thread.sleep(4000);
            List<String> r = new ArrayList<>();
            for (int i : slice) {
                r.add("item " + i * 10);
            }
            return r;
        });
        killer.join();
        List<String> expected = new ArrayList<>();
        for (int i : items) {
            expected.add("item " + i * 10);
        }
        assertEquals(expected, out);
        try (var s = Files.list(marks)) {
            // 4 slices, and at least one started again after its executor died
            assertTrue(s.count() > 4, "a slice was retried");
        }
    }
}
