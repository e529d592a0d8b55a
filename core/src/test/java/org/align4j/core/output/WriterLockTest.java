package org.align4j.core.output;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.align4j.core.util.UserInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WriterLockTest {

    @TempDir
    Path tmp;

    @Test
    void oneWriterAtATimeAndTheLockFileNamesIt() throws Exception {
        Path run = tmp.resolve("run");
        try (WriterLock lock = WriterLock.directory(run, "run directory")) {
            assertEquals(Long.toString(ProcessHandle.current().pid()), Files.readString(lock.file()).trim());
            UserInputException e = assertThrows(UserInputException.class,
                    () -> WriterLock.directory(Path.of(run + "/"), "run directory"));
            assertTrue(e.getMessage().contains("run directory " + run + " is in use by another align4j writer (PID "
                    + ProcessHandle.current().pid() + ")"), e.getMessage());
        }
        // released: a later writer takes it, although the file is still there
        assertTrue(Files.exists(run.resolve(PathKind.LOCK_FILE)));
        WriterLock.directory(run, "run directory").close();
    }
}
