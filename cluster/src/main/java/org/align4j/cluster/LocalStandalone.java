package org.align4j.cluster;

import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A Spark standalone cluster on this machine made of separate JVMs (a Master and Workers, each
 * Worker starting its executors as further JVMs), from this JVM's own class path: the tests' real
 * cluster, with no Spark installation. Its logs go to the directory given.
 */
public final class LocalStandalone implements AutoCloseable {

    private final List<Process> processes = new ArrayList<>();
    private final Path dir;
    private final String url;

    private LocalStandalone(Path dir, String url) {
        this.dir = dir;
        this.url = url;
    }

    /** Starts a master and {@code workers} workers of one core each; returns once the master listens. */
    public static LocalStandalone start(Path dir, int workers) throws IOException, InterruptedException {
        // a Worker starts executors with SPARK_HOME/jars as their class path: Spark and its dependencies
        // from ours, align4j's own left out (the driver ships those, as it must to a real cluster)
        Path home = dir.resolve("spark-home");
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
        LocalStandalone c = new LocalStandalone(dir, "spark://127.0.0.1:" + port);
        Process master = c.launch(home, "master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                "--port", String.valueOf(port), "--webui-port", String.valueOf(freePort()));
        c.awaitPort(port, master);
        for (int w = 0; w < workers; w++) {
            c.launch(home, "worker-" + w, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores",
                    "1", "--memory", "1g", "--webui-port", String.valueOf(freePort()), "--work-dir",
                    dir.resolve("work-" + w).toString(), c.url);
        }
        return c;
    }

    public String url() {
        return url;
    }

    /**
     * Kills worker {@code w} as a machine dies: SIGKILL to its executors and to the worker itself, no
     * shutdown hooks.
     */
    public void killWorker(int w) {
        Process worker = processes.get(1 + w);
        worker.descendants().forEach(ProcessHandle::destroyForcibly);
        worker.destroyForcibly();
    }

    private Process launch(Path home, String name, String main, String... args) throws IOException {
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
                .redirectOutput(dir.resolve(name + ".log").toFile());
        pb.environment().put("SPARK_HOME", home.toString());
        // Spark's command builder asks for the Scala version before it looks at SPARK_HOME/jars
        pb.environment().put("SPARK_SCALA_VERSION", "2.13");
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        Process p = pb.start();
        processes.add(p);
        return p;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private void awaitPort(int port, Process p) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new IOException("the Spark master exited: see " + dir.resolve("master.log"));
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 500);
                return;
            } catch (IOException notYet) {
                Thread.sleep(200);
            }
        }
        throw new IOException("the Spark master did not listen on " + port + " within a minute");
    }

    @Override
    public void close() {
        for (int i = processes.size() - 1; i >= 0; i--) {
            processes.get(i).destroyForcibly();
        }
    }
}
