package org.align4j.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.IntStream;

import org.align4j.core.util.UserInputException;
import org.align4j.train.scale.Cluster;
import org.align4j.train.scale.Clusters;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.TaskInfo;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The seam on an embedded local[2] Spark, one context for the class (each costs seconds). */
class SparkClusterTest {

    private static Cluster cluster;

    @BeforeAll
    static void start() {
        cluster = Clusters.connect("local[2]", "--spark-master");
    }

    @Test
    void foundThroughTheServiceLoaderAndReusedForTheSameMaster() {
        assertInstanceOf(SparkCluster.class, cluster);
        assertEquals(2, cluster.defaultParallelism());
        assertTrue(cluster == Clusters.connect("local[2]", "--spark-master"), "one context per JVM, reused");
    }

    @Test
    void resultsComeBackInInputOrderWhateverTheSlicing() {
        List<Integer> items = IntStream.range(0, 11).boxed().toList();
        for (int slices : new int[] {1, 2, 3, 5, 11, 20}) {
            // each result names the slice's first item: the slicing must be consecutive runs
            List<String> out = cluster.mapInOrder(items, slices, Map.of(), (slice, files) -> {
                List<String> r = new ArrayList<>();
                for (int i : slice) {
                    r.add(i * i + "@" + slice.get(0));
                }
                return r;
            });
            int[] bounds = Cluster.sliceBounds(items.size(), slices);
            List<String> expected = new ArrayList<>();
            for (int s = 0; s + 1 < bounds.length; s++) {
                for (int i = bounds[s]; i < bounds[s + 1]; i++) {
                    expected.add(i * i + "@" + bounds[s]);
                }
            }
            assertEquals(expected, out, slices + " slices");
        }
        assertEquals(List.of(), cluster.mapInOrder(List.<Integer>of(), 2, Map.of(), (s, f) -> List.of()));
    }

    @Test
    void sliceBoundsAreConsecutiveRunsLongestFirst() {
        assertArrayEquals(new int[] {0, 4, 7, 10}, Cluster.sliceBounds(10, 3));
        assertArrayEquals(new int[] {0, 1, 2}, Cluster.sliceBounds(2, 5));
        assertArrayEquals(new int[] {0, 0}, Cluster.sliceBounds(0, 3));
    }

    @Test
    void shippedDirectoryIsReadableOnTheExecutors(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("a.txt"), "alpha");
        Files.createDirectories(dir.resolve("sub"));
        Files.writeString(dir.resolve("sub/b.txt"), "beta");
        List<String> out = cluster.mapInOrder(List.of("a.txt", "sub/b.txt"), 2, Map.of("model", dir),
                (slice, files) -> {
                    List<String> r = new ArrayList<>();
                    for (String f : slice) {
                        r.add(Files.readString(files.path("model").resolve(f)));
                    }
                    return r;
                });
        assertEquals(List.of("alpha", "beta"), out);
    }

    @Test
    void shippedBytesAreWrittenOnceAndEqualTheOriginals(@TempDir Path dir) throws Exception {
        // the form a real cluster's executors get: bytes, not paths
        Files.writeString(dir.resolve("config.json"), "{\"n\": 1}");
        Files.createDirectories(dir.resolve("tok"));
        Files.write(dir.resolve("tok/merges.txt"), new byte[] {0, 1, 2, (byte) 255});
        Path single = Files.writeString(dir.resolve("tokenizer.json"), "{}");
        ShippedFiles shipped = ShippedFiles.of(Map.of("model", dir.resolve("tok"), "tok", single,
                "cfg", dir.resolve("config.json")), false);
        Cluster.Shipped local = shipped.open();
        Path model = local.path("model");
        assertNotEquals(dir.resolve("tok"), model);
        assertArrayEquals(new byte[] {0, 1, 2, (byte) 255}, Files.readAllBytes(model.resolve("merges.txt")));
        assertEquals("tokenizer.json", local.path("tok").getFileName().toString(), "a file keeps its name");
        assertEquals("{}", Files.readString(local.path("tok")));
        assertEquals(model, shipped.open().path("model"), "written once per JVM");
        assertEquals(null, local.path("absent"));
    }

    @Test
    void megabytesGoOutSharedAndComeBackWithTheTaskStatusBitForBit() throws Exception {
        // a 3 MB value shared and a 3 MB result per slice: over Spark's 1 MB default for results sent directly
        byte[] value = new byte[3 << 20];
        new SplittableRandom(7).nextBytes(value);
        List<TaskInfo> ended = new CopyOnWriteArrayList<>();
        SparkListener listener = new SparkListener() {
            @Override
            public void onTaskEnd(SparkListenerTaskEnd end) {
                ended.add(end.taskInfo());
            }
        };
        SparkContext.getOrCreate().addSparkListener(listener);
        try (Cluster.Shared<byte[]> shared = cluster.share(value)) {
            List<byte[]> out = cluster.mapInOrder(List.of(1, 2, 3), 3, Map.of(), (slice, files) -> {
                byte[] r = shared.value().clone();
                r[0] = (byte) (int) slice.get(0);
                return List.of(r);
            });
            for (int i = 0; i < 3; i++) {
                byte[] expected = value.clone();
                expected[0] = (byte) (i + 1);
                assertArrayEquals(expected, out.get(i), "slice " + i);
            }
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (ended.size() < 3 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
        } finally {
            SparkContext.getOrCreate().removeSparkListener(listener);
        }
        assertEquals(3, ended.size());
        for (TaskInfo t : ended) {
            // Spark stamps the time it began fetching a result from the block manager; 0: it came with the status
            assertEquals(0, t.gettingResultTime(), "task " + t.index() + " result went through the block manager");
        }
        SparkConf conf = SparkContext.getOrCreate().getConf();
        assertEquals("false", conf.get("spark.broadcast.compress"));
        assertEquals("0", conf.get("spark.driver.maxResultSize"));
        // a user's own setting stays
        SparkConf mine = new SparkConf(false).set("spark.broadcast.compress", "true");
        SparkCluster.transferSettings(mine);
        assertEquals("true", mine.get("spark.broadcast.compress"));
        assertEquals("2047m", mine.get("spark.task.maxDirectResultSize"));
    }

    @Test
    void userMistakeOnAnExecutorStaysAUserMistake() {
        UserInputException e = assertThrows(UserInputException.class, () -> cluster.mapInOrder(List.of(1, 2, 3), 3,
                Map.of(), (slice, files) -> {
                    if (slice.get(0) == 2) {
                        throw new UserInputException("prompts.jsonl:2: bad");
                    }
                    return List.of(slice.get(0));
                }));
        assertEquals("prompts.jsonl:2: bad", e.getMessage());
    }

    @Test
    void badMasterUrlsAreRefusedWithTheFormsBeforeSparkStarts() {
        for (String bad : new String[] {"locl[2]", "local[x]", "local[0]", "spark://nohostport", ""}) {
            UserInputException e = assertThrows(UserInputException.class,
                    () -> Clusters.connect(bad, "--spark-master"), bad);
            assertTrue(e.getMessage().startsWith("--spark-master "), e.getMessage());
            assertTrue(e.getMessage().contains("local[N]") || e.getMessage().contains("local[0]"), e.getMessage());
        }
        // a standalone master nobody listens on: refused at once, not after Spark's minute of retries
        long t0 = System.nanoTime();
        UserInputException e = assertThrows(UserInputException.class,
                () -> Clusters.connect("spark://127.0.0.1:1", "--spark-master"));
        assertTrue(e.getMessage().contains("no Spark master answers at 127.0.0.1:1"), e.getMessage());
        assertTrue(System.nanoTime() - t0 < 10_000_000_000L);
        // the embedded context is untouched by the refusals
        assertTrue(cluster == Clusters.connect("local[2]", "--spark-master"));
    }
}
