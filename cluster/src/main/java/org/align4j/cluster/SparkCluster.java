package org.align4j.cluster;

import java.io.File;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

import org.align4j.core.backend.Backend;
import org.align4j.core.kernels.VectorSupport;
import org.align4j.core.util.UserInputException;
import org.align4j.train.scale.Cluster;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

/**
 * The seam on Apache Spark: one SparkContext per JVM (Spark allows no more), kept while later
 * commands in the same JVM ask for the same master, stopped by Spark's shutdown hook at exit.
 */
public final class SparkCluster implements Cluster {

    private static SparkCluster active;

    private final String master;
    private final JavaSparkContext sc;

    private SparkCluster(String master, JavaSparkContext sc) {
        this.master = master;
        this.sc = sc;
    }

    /** The running context for {@code master}, started if there is none (a context for another master is stopped). */
    public static synchronized SparkCluster connect(String master) {
        MasterUrl.check(master);
        if (active != null && !active.sc.sc().isStopped() && active.master.equals(master)) {
            return active;
        }
        if (active != null) {
            active.sc.stop();
            active = null;
        }
        SparkConf conf = new SparkConf().setAppName("align4j").setMaster(master)
                .set("spark.ui.enabled", "false")
                .set("spark.ui.showConsoleProgress", "false");
        transferSettings(conf);
        if (MasterUrl.isLocal(master)) {
            // embedded: nothing leaves this machine, and a host name that does not resolve must not matter
            conf.set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1");
        } else {
            conf.setJars(applicationJars().toArray(new String[0]));
            // the CPU kernels' sums depend on how a row is split over threads: executors compute with the
            // driver's thread count, so that a job prints what the single process prints (measured: a
            // one-core worker's executor gave log-probabilities differing in the ninth digit)
            if (!conf.contains("spark.executorEnv.OMP_NUM_THREADS")) {
                conf.setExecutorEnv("OMP_NUM_THREADS", String.valueOf(Backend.threads()));
            }
            // and with the driver's choice of few-row kernel (the Vector API's or sgemv), for the same reason
            String opts = conf.get("spark.executor.extraJavaOptions", "");
            conf.set("spark.executor.extraJavaOptions", (opts + " " + VectorSupport.sameChoiceJvmOptions()).trim());
        }
        try {
            active = new SparkCluster(master, new JavaSparkContext(conf));
        } catch (RuntimeException e) {
            throw new UserInputException(master + ": Spark did not start: " + e.getMessage());
        }
        return active;
    }

    /**
     * How a training step's weights and gradients travel, unless the user set these (as {@code -Dspark.*} or in
     * spark-defaults): they are raw float32 bytes ({@code RawFloats}), a few hundred MB a step for a 124M model.
     */
    static void transferSettings(SparkConf conf) {
        // lz4 does not shrink float weights (ratio 1.0 measured) but costs a pass over them: broadcasts go as they are
        defaultTo(conf, "spark.broadcast.compress", "false");
        // Spark sends a task result over 1 MB through the block manager: the executor stores it, the driver fetches
        // it over the network (into a file when over 200 MB) and copies it once more. A slice's gradient goes back
        // with the task's status message instead (one transfer, fewer copies), up to the RPC limit of 2047 MB;
        // beyond that Spark falls back to the block manager by itself.
        defaultTo(conf, "spark.task.maxDirectResultSize", "2047m");
        defaultTo(conf, "spark.rpc.message.maxSize", "2047");
        // the driver must receive every slice's gradient: 3 partitions of a 124M model already pass the 1 GB default
        defaultTo(conf, "spark.driver.maxResultSize", "0");
    }

    private static void defaultTo(SparkConf conf, String key, String value) {
        if (!conf.contains(key)) {
            conf.set(key, value);
        }
    }

    @Override
    public String master() {
        return master;
    }

    @Override
    public int defaultParallelism() {
        return sc.defaultParallelism();
    }

    @Override
    public <I extends Serializable, O extends Serializable> List<O> mapInOrder(List<I> items, int slices,
                                                                               Map<String, Path> shipped,
                                                                               SliceWork<I, O> work) {
        if (items.isEmpty()) {
            return List.of();
        }
        int[] bounds = Cluster.sliceBounds(items.size(), slices);
        List<ArrayList<I>> parts = new ArrayList<>();
        for (int s = 0; s + 1 < bounds.length; s++) {
            parts.add(new ArrayList<>(items.subList(bounds[s], bounds[s + 1])));
        }
        Broadcast<ShippedFiles> files = sc.broadcast(ShippedFiles.of(shipped, MasterUrl.isLocal(master)));
        try {
            // one element per partition: parallelize cuts a list of k elements into k slices of one each
            List<ArrayList<O>> results = sc.parallelize(parts, parts.size()).map(new RunSlice<>(files, work)).collect();
            List<O> out = new ArrayList<>(items.size());
            results.forEach(out::addAll);
            return out;
        } catch (Exception e) { // Spark's job failure is a checked SparkException thrown from Scala
            throw unwrap(e);
        } finally {
            files.destroy();
        }
    }

    @Override
    public <T extends Serializable> Shared<T> share(T value) {
        return new SharedValue<>(sc.broadcast(value));
    }

    @Override
    public Shared<Shipped> ship(Map<String, Path> shipped) {
        return new SharedFiles(sc.broadcast(ShippedFiles.of(shipped, MasterUrl.isLocal(master))));
    }

    /** A broadcast value: Spark's torrent broadcast sends it to each executor JVM once, on first read. */
    private record SharedValue<T>(Broadcast<T> broadcast) implements Shared<T> {
        @Override
        public T value() {
            return broadcast.value();
        }

        @Override
        public void close() {
            broadcast.destroy();
        }
    }

    /** Broadcast files: their bytes are fetched and written once per executor JVM, on the first path asked for. */
    private record SharedFiles(Broadcast<ShippedFiles> broadcast) implements Shared<Shipped> {
        @Override
        public Shipped value() {
            return name -> broadcast.value().open().path(name);
        }

        @Override
        public void close() {
            broadcast.destroy();
        }
    }

    /**
     * One slice computes at a time in an executor JVM. align4j's kernels are process-wide (one Backend,
     * its threads and buffers) and already use every core: two tasks running models at once in one JVM
     * (local[2], or an executor with several cores) gave other numbers than one at a time (measured:
     * log-probabilities differing in the second decimal), so concurrency comes from executors, not
     * from task threads inside one.
     */
    private static final Object COMPUTE = new Object();

    /** A task's function, a named class so that it captures the broadcast and the work, nothing else. */
    private record RunSlice<I, O>(Broadcast<ShippedFiles> files, SliceWork<I, O> work)
            implements org.apache.spark.api.java.function.Function<ArrayList<I>, ArrayList<O>> {

        @Override
        public ArrayList<O> call(ArrayList<I> slice) throws Exception {
            List<O> out;
            synchronized (COMPUTE) {
                out = work.run(slice, files.value().open());
            }
            if (out.size() != slice.size()) {
                throw new IllegalStateException("slice work returned " + out.size() + " results for " + slice.size()
                        + " items");
            }
            return new ArrayList<>(out);
        }
    }

    /** A user's mistake found on an executor stays a user's mistake (one line, exit 1), not Spark's stack trace. */
    private static RuntimeException unwrap(Exception e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof UserInputException u) {
                return u;
            }
        }
        return e instanceof RuntimeException r ? r : new IllegalStateException("Spark job failed: " + e.getMessage(), e);
    }

    /**
     * What the executors of a real cluster need on top of their own Spark: every jar on this JVM's class
     * path (a runnable jar's manifest Class-Path included, which is how ./align4j's lib/ is listed),
     * less Spark's and Scala's, which a Spark 3.5 / Scala 2.13 installation brings.
     */
    static List<String> applicationJars() {
        Set<String> jars = new LinkedHashSet<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path p = Path.of(entry).toAbsolutePath();
            if (Files.isDirectory(p)) {
                // a class directory (a build's target/classes when run from the sources): executors take jars
                p = jarOf(p);
            }
            addJar(p, jars);
        }
        jars.removeIf(j -> {
            String name = Path.of(j).getFileName().toString();
            return name.startsWith("spark-") || name.startsWith("scala-");
        });
        return new ArrayList<>(jars);
    }

    private static Path jarOf(Path classes) {
        try {
            Path jar = Files.createTempFile("align4j-classes-", ".jar");
            jar.toFile().deleteOnExit();
            List<Path> files;
            try (var walk = Files.walk(classes)) {
                files = walk.filter(Files::isRegularFile).sorted().toList();
            }
            try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
                for (Path f : files) {
                    out.putNextEntry(new JarEntry(classes.relativize(f).toString().replace(File.separatorChar, '/')));
                    Files.copy(f, out);
                    out.closeEntry();
                }
            }
            return jar;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot pack " + classes + " for the executors", e);
        }
    }

    private static void addJar(Path jar, Set<String> jars) {
        if (!jar.toString().endsWith(".jar") || !Files.isRegularFile(jar) || !jars.add(jar.toString())) {
            return;
        }
        try (JarFile jf = new JarFile(jar.toFile())) {
            Manifest mf = jf.getManifest();
            String cp = mf == null ? null : mf.getMainAttributes().getValue("Class-Path");
            if (cp != null) {
                for (String rel : cp.trim().split("\\s+")) {
                    addJar(jar.getParent().resolve(rel).normalize(), jars);
                }
            }
        } catch (IOException ignored) {
            // not a readable jar: Spark will say so when it serves it
        }
    }
}
