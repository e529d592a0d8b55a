package org.align4j.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
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
    static Process master;
    static Process worker;
    static String url;

    @BeforeAll
    static void startCluster() throws Exception {
        // the Worker starts executors with SPARK_HOME/jars as their class path: Spark's jars from ours
        Path home = tmp.resolve("spark-home");
        Files.createDirectories(home.resolve("jars"));
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path jar = Path.of(entry);
            String name = jar.getFileName().toString();
            if (name.endsWith(".jar") && !name.startsWith("align4j") && Files.isRegularFile(jar)
                    && !Files.exists(home.resolve("jars").resolve(name))) {
                Files.createSymbolicLink(home.resolve("jars").resolve(name), jar.toAbsolutePath());
            }
        }
        int port = freePort();
        url = "spark://127.0.0.1:" + port;
        master = start(home, "master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port",
                String.valueOf(port), "--webui-port", String.valueOf(freePort()));
        awaitPort(port, master);
        worker = start(home, "worker", "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores",
                "1", "--memory", "1g", "--webui-port", String.valueOf(freePort()), "--work-dir",
                tmp.resolve("work").toString(), url);
        // the driver (this JVM) must be reachable by the executor at an address that resolves
        System.setProperty("spark.driver.host", "127.0.0.1");
        System.setProperty("spark.executor.memory", "512m");
    }

    @AfterAll
    static void stopCluster() {
        System.clearProperty("spark.driver.host");
        System.clearProperty("spark.executor.memory");
        for (Process p : new Process[] {worker, master}) {
            if (p != null) {
                p.destroyForcibly();
            }
        }
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
        assertEquals(1, pids.size(), "one worker, one executor process");
    }

    private static Process start(Path home, String name, String main, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx512m");
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("--add-opens") || a.startsWith("-XX:+IgnoreUnrecognized") || a.startsWith("-Djdk.reflect")) {
                cmd.add(a);
            }
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), main));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(tmp.resolve(name + ".log").toFile());
        pb.environment().put("SPARK_HOME", home.toString());
        // Spark's command builder asks for the Scala version before it looks at SPARK_HOME/jars
        pb.environment().put("SPARK_SCALA_VERSION", "2.13");
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        return pb.start();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static void awaitPort(int port, Process p) throws Exception {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < deadline) {
            assertTrue(p.isAlive(), "master died: " + Files.readString(tmp.resolve("master.log")));
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 500);
                return;
            } catch (IOException notYet) {
                Thread.sleep(200);
            }
        }
        throw new AssertionError("master did not listen on " + port);
    }
}
