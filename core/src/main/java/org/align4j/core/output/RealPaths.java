package org.align4j.core.output;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Paths compared by where they really are: {@code runs/x}, {@code ./runs/x/}, {@code runs/../runs/x}
 * and a symbolic link to it are one directory. A path that does not exist yet is the real location
 * of its nearest existing ancestor plus the names below it, so an output about to be created is
 * compared as surely as one that exists.
 */
public final class RealPaths {

    private RealPaths() {
    }

    public static Path real(Path p) {
        Path abs = p.toAbsolutePath();
        Path existing = abs;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return abs.normalize();
        }
        try {
            // names below the existing ancestor do not exist, so none of them is a link: normalizing them is exact
            return existing.toRealPath().resolve(existing.relativize(abs)).normalize();
        } catch (IOException e) {
            return abs.normalize();
        }
    }

    public static boolean same(Path a, Path b) {
        return real(a).equals(real(b));
    }

    /** True when {@code inner} is {@code outer} or lies below it. */
    public static boolean within(Path inner, Path outer) {
        return real(inner).startsWith(real(outer));
    }

    /** The topmost directory that {@code Files.createDirectories(dir)} would create, or null when {@code dir} exists. */
    public static Path firstMissing(Path dir) {
        Path abs = dir.toAbsolutePath().normalize();
        Path missing = null;
        for (Path p = abs; p != null && !Files.exists(p); p = p.getParent()) {
            missing = p;
        }
        return missing;
    }
}
