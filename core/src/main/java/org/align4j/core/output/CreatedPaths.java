package org.align4j.core.output;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.Stream;

import org.align4j.core.run.Checkpoints;

/**
 * What a writer created in its output directory, so that a start that fails removes exactly that
 * and nothing it found there: the directories it made (each made with {@code createDirectory},
 * which fails if another process made it first), or else the entries that appeared after
 * {@link #snapshot()}. A failed start then leaves nothing a later run would have to --resume.
 */
public final class CreatedPaths {

    private final Path dir;
    private final Path topCreated;
    private final Set<Path> before = new HashSet<>();

    private CreatedPaths(Path dir, Path topCreated) {
        this.dir = dir;
        this.topCreated = topCreated;
    }

    /** Creates {@code dir} and its missing parents, remembering the topmost one this call made. */
    public static CreatedPaths createDirectories(Path dir) throws IOException {
        Deque<Path> missing = new ArrayDeque<>();
        for (Path p = dir.toAbsolutePath().normalize(); p != null && !Files.isDirectory(p); p = p.getParent()) {
            missing.push(p);
        }
        Path top = null;
        for (Path p : missing) {
            try {
                Files.createDirectory(p);
                top = top == null ? p : top;
            } catch (FileAlreadyExistsException made) {
                if (!Files.isDirectory(p)) {
                    throw new IOException(p + ": exists and is not a directory");
                }
            }
        }
        return new CreatedPaths(dir, top);
    }

    /** Remembers what the directory holds now (call it once the writer holds the directory's lock). */
    public void snapshot() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            s.forEach(before::add);
        }
    }

    /** Removes what was created: the directories made, or else the entries new since the snapshot. */
    public void removeCreated() {
        try {
            if (topCreated != null) {
                Checkpoints.deleteTree(topCreated);
                return;
            }
            try (Stream<Path> s = Files.list(dir)) {
                for (Path p : s.toList()) {
                    if (!before.contains(p) && !p.getFileName().toString().equals(PathKind.LOCK_FILE)) {
                        Checkpoints.deleteTree(p);
                    }
                }
            }
        } catch (IOException ignored) {
            // best effort: the failure that brought us here is what the user must read
        }
    }
}
