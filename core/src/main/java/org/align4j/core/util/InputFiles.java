package org.align4j.core.util;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The checks every input file gets before it is opened, so a user reads what is wrong with it, not just its path. */
public final class InputFiles {

    private InputFiles() {
    }

    /** Throws an IOException saying that {@code file} does not exist, is a directory, or cannot be read. */
    public static void requireReadableFile(Path file) throws IOException {
        if (Files.isDirectory(file)) {
            throw new IOException(file + ": is a directory, not a file");
        }
        if (!Files.exists(file)) {
            throw new IOException(file + ": no such file");
        }
        if (!Files.isRegularFile(file)) {
            throw new IOException(file + ": not a regular file");
        }
        if (!Files.isReadable(file)) {
            throw new IOException(file + ": permission denied");
        }
    }
}
