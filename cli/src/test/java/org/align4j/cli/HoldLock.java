package org.align4j.cli;

import java.nio.file.Path;

import org.align4j.core.output.WriterLock;

/** Test helper run as its own process: holds a directory's writer lock until its standard input closes. */
final class HoldLock {

    private HoldLock() {
    }

    public static void main(String[] args) throws Exception {
        try (WriterLock lock = WriterLock.directory(Path.of(args[0]), "directory")) {
            System.out.println("holding");
            System.out.flush();
            while (System.in.read() >= 0) {
                // wait for the test to close our standard input
            }
        }
    }
}
