package org.align4j.core.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The process's peak resident set as Linux keeps it ({@code VmHWM} in {@code /proc/self/status}),
 * resettable ({@code 5} written to {@code /proc/self/clear_refs}) so that a phase's own peak can be
 * read: ND4J's off-heap buffers are outside the Java heap, so the JVM's own memory beans miss them.
 */
final class PeakResident {

    private static final Path STATUS = Path.of("/proc/self/status");
    private static final Path CLEAR_REFS = Path.of("/proc/self/clear_refs");

    private PeakResident() {
    }

    /** Starts a new peak at the current resident set; does nothing where the system does not allow it. */
    static void reset() {
        try {
            Files.writeString(CLEAR_REFS, "5");
        } catch (IOException | SecurityException | UnsupportedOperationException e) {
            // not Linux, or not allowed: the peak then counts from the process's start
        }
    }

    /** The peak resident set in bytes since the last {@link #reset}, or -1 where the system does not say. */
    static long bytes() {
        return status("VmHWM:");
    }

    /** The resident set now, in bytes, or -1 where the system does not say. */
    static long currentBytes() {
        return status("VmRSS:");
    }

    private static long status(String key) {
        try {
            for (String line : Files.readAllLines(STATUS)) {
                if (line.startsWith(key)) {
                    String[] f = line.trim().split("\\s+");
                    return Long.parseLong(f[1]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
