package org.align4j.serve.web;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.align4j.serve.ServeApp;
import org.align4j.serve.ServeConfig;
import org.align4j.serve.Server;

/**
 * {@code align4j serve} in a process of its own, so that a test can kill it as a crash would
 * (SIGKILL: no shutdown hook, no close) and look at what reached the disk.
 */
final class ChildServer implements AutoCloseable {

    final Process process;
    final int port;

    ChildServer(Path dataDir, String key) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                ChildServer.class.getName(), dataDir.toString(), key == null ? "" : key);
        pb.redirectErrorStream(true);
        process = pb.start();
        BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        String line;
        int p = -1;
        while ((line = out.readLine()) != null) {
            if (line.startsWith("PORT ")) {
                p = Integer.parseInt(line.substring(5).trim());
                break;
            }
        }
        if (p < 0) {
            throw new IllegalStateException("the child server did not start (exit " + process.waitFor() + ")");
        }
        port = p;
    }

    /** SIGKILL, as a crash or the OOM killer would. */
    void kill() throws Exception {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws Exception {
        if (process.isAlive()) {
            kill();
        }
    }

    public static void main(String[] args) throws Exception {
        ServeConfig cfg = new ServeConfig(List.of(), "127.0.0.1", 0, Path.of(args[0]),
                args.length > 1 && !args[1].isEmpty() ? args[1] : null, 1 << 20, 1 << 20);
        Server s = ServeApp.create(cfg, System.err).start();
        System.out.println("PORT " + s.port());
        System.out.flush();
        Thread.currentThread().join();
    }
}
