package org.align4j.train;

import java.io.IOException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A run's own location is not one of its settings: the same run directory spelled another way
 * (relative or absolute, a trailing slash, a symlink) is the same run, and a moved or copied run
 * directory resumes. Saved and current settings are compared through this: {@code output_dir} is
 * left out, a path compares by its resolved location, and a path that lay where the run (or a
 * directory around it with the same name, as a pipeline's) used to be compares at its new place.
 */
final class RunLocation {

    static final String KEY = "output_dir";

    /** (old, new) locations, from the run directory itself up through the parents both share by name. */
    private final List<Path[]> moves = new ArrayList<>();

    private RunLocation() {
    }

    /** Paths compare by where they lead; nothing moved. */
    static RunLocation none() {
        return new RunLocation();
    }

    /** The run moved from the saved {@code output_dir} to the current one (either may be absent). */
    static RunLocation of(JsonNode saved, JsonNode now) {
        RunLocation l = new RunLocation();
        Path from = located(saved.path(KEY).asText(null));
        Path to = located(now.path(KEY).asText(null));
        while (from != null && to != null) {
            l.moves.add(new Path[] {from, to});
            Path a = from.getFileName();
            Path b = to.getFileName();
            if (a == null || !a.equals(b)) {
                break;
            }
            from = from.getParent();
            to = to.getParent();
        }
        return l;
    }

    /** Whether two setting values are the same file or directory: spelled alike, or leading to one place. */
    boolean samePath(String saved, String now) {
        Path was = located(saved);
        Path is = located(now);
        if (was == null || is == null) {
            return false;
        }
        if (was.equals(is)) {
            return true;
        }
        for (Path[] m : moves) {
            if (was.startsWith(m[0]) && m[1].resolve(m[0].relativize(was)).equals(is)) {
                return true;
            }
        }
        return false;
    }

    /** The real location when the path exists, else the absolute normalized one; null for a non-path. */
    static Path located(String text) {
        if (text == null || text.isEmpty()) {
            return null;
        }
        try {
            Path p = Path.of(text).toAbsolutePath().normalize();
            try {
                return p.toRealPath();
            } catch (IOException e) {
                return p;
            }
        } catch (InvalidPathException e) {
            return null;
        }
    }
}
