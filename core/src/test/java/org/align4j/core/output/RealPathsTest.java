package org.align4j.core.output;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RealPathsTest {

    @TempDir
    Path tmp;

    @Test
    void oneDirectoryHowEverItIsSpelled() throws Exception {
        Path run = Files.createDirectories(tmp.resolve("runs/x"));
        Path link = Files.createSymbolicLink(tmp.resolve("link"), run);
        assertTrue(RealPaths.same(run, Path.of(run + "/")));
        assertTrue(RealPaths.same(run, tmp.resolve("runs/./x")));
        assertTrue(RealPaths.same(run, tmp.resolve("runs/../runs/x")));
        assertTrue(RealPaths.same(run, link), "a symbolic link is where it points");
        assertTrue(RealPaths.same(run.resolve("metrics.jsonl"), link.resolve("metrics.jsonl")),
                "a file that does not exist yet, below a link");
        assertTrue(RealPaths.same(tmp.resolve("runs/new/../x"), run), "'..' after a name that does not exist");
        assertFalse(RealPaths.same(run, tmp.resolve("runs/y")));
        assertTrue(RealPaths.within(link.resolve("final"), run));
        assertFalse(RealPaths.within(tmp.resolve("runs/xy"), run), "a sibling with a longer name is not inside");
        Path relative = tmp.relativize(run);
        assertEquals(RealPaths.real(run), RealPaths.real(tmp.resolve(relative)));
    }

    @Test
    void firstMissingIsTheTopmostDirectoryToCreate() throws Exception {
        assertNull(RealPaths.firstMissing(tmp));
        assertEquals(tmp.resolve("a").toAbsolutePath(), RealPaths.firstMissing(tmp.resolve("a/b/c")));
    }
}
