package org.align4j.cluster;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import org.align4j.train.scale.Cluster;

/**
 * What a job ships to its executors, broadcast once per job: for an embedded master the paths
 * themselves (the executors share the driver's file system), otherwise every file's bytes, written
 * once per executor JVM into a temporary directory that goes when the JVM exits.
 */
final class ShippedFiles implements Serializable {

    private static final long serialVersionUID = 1L;
    /** Executor side: the directory each broadcast was written to, by its id. */
    private static final Map<String, Path> WRITTEN = new ConcurrentHashMap<>();

    private final String id = UUID.randomUUID().toString();
    private final Map<String, String> paths = new HashMap<>();
    /** name -> (relative path -> bytes); a shipped file (not a directory) is its one entry, by its file name. */
    private final Map<String, TreeMap<String, byte[]>> contents = new HashMap<>();
    /** The names shipped as single files, with their file names. */
    private final Map<String, String> singleFiles = new HashMap<>();

    static ShippedFiles of(Map<String, Path> shipped, boolean byPath) {
        ShippedFiles s = new ShippedFiles();
        shipped.forEach((name, path) -> {
            if (path == null) {
                return;
            }
            if (byPath) {
                s.paths.put(name, path.toAbsolutePath().toString());
            } else {
                s.contents.put(name, read(path));
                if (!Files.isDirectory(path)) {
                    s.singleFiles.put(name, path.getFileName().toString());
                }
            }
        });
        return s;
    }

    private static TreeMap<String, byte[]> read(Path path) {
        TreeMap<String, byte[]> files = new TreeMap<>();
        try {
            if (Files.isDirectory(path)) {
                List<Path> all;
                try (Stream<Path> walk = Files.walk(path)) {
                    all = walk.filter(Files::isRegularFile).toList();
                }
                for (Path f : all) {
                    files.put(path.relativize(f).toString(), Files.readAllBytes(f));
                }
            } else {
                files.put(path.getFileName().toString(), Files.readAllBytes(path));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path + " to ship it to the executors", e);
        }
        return files;
    }

    /** The executor's view: local paths, writing the shipped bytes on first use in this JVM. */
    Cluster.Shipped open() {
        if (contents.isEmpty()) {
            return name -> paths.containsKey(name) ? Path.of(paths.get(name)) : null;
        }
        Path root = WRITTEN.computeIfAbsent(id, k -> write());
        return name -> {
            TreeMap<String, byte[]> files = contents.get(name);
            if (files == null) {
                return paths.containsKey(name) ? Path.of(paths.get(name)) : null;
            }
            String single = singleFiles.get(name);
            return single != null ? root.resolve(name).resolve(single) : root.resolve(name);
        };
    }

    private Path write() {
        try {
            Path root = Files.createTempDirectory("align4j-shipped-");
            for (Map.Entry<String, TreeMap<String, byte[]>> e : contents.entrySet()) {
                for (Map.Entry<String, byte[]> f : e.getValue().entrySet()) {
                    Path target = root.resolve(e.getKey()).resolve(f.getKey());
                    Files.createDirectories(target.getParent());
                    Files.write(target, f.getValue());
                }
            }
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteQuietly(root)));
            return root;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the shipped files on this executor", e);
        }
    }

    private static void deleteQuietly(Path root) {
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temporary directory left behind is the most that can happen here
        }
    }
}
