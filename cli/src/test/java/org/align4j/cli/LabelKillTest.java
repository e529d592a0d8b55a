package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.align4j.data.label.Judgment;
import org.align4j.data.label.JudgmentStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A labeling session killed with SIGKILL and restarted ends with every submitted judgment exactly once. */
class LabelKillTest {

    @TempDir
    Path tmp;

    private Process start(Path tasks, Path out) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "org.align4j.cli.Align4j", "label", "session",
                "--tasks", tasks.toString(), "--out", out.toString(), "--annotator", "kim", "--seed", "3"));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve("session.log").toFile())
                .start();
    }

    private static long lines(Path f) throws Exception {
        return Files.exists(f) ? Files.readAllLines(f).stream().filter(l -> !l.isBlank()).count() : 0;
    }

    @Test
    void sigkillMidSessionLosesAndDuplicatesNothing() throws Exception {
        Path tasks = tmp.resolve("tasks.jsonl");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 10; i++) {
            sb.append("{\"id\": \"t").append(i).append("\", \"prompt\": \"p").append(i)
                    .append("\", \"responses\": [\"x").append(i).append("\", \"y").append(i).append("\"]}\n");
        }
        Files.writeString(tasks, sb);
        Path out = tmp.resolve("judgments.jsonl");
        Process p = start(tasks, out);
        OutputStream in = p.getOutputStream();
        for (int i = 1; i <= 4; i++) {
            in.write("B>A\n".getBytes(StandardCharsets.UTF_8));
            in.flush();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (lines(out) < i && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertEquals(i, lines(out), "judgment " + i + " stored before the next task");
        }
        in.write("B>A\n".getBytes(StandardCharsets.UTF_8));
        in.flush();
        p.destroyForcibly(); // SIGKILL, possibly in the middle of the fifth write
        p.waitFor();
        long afterKill = new JudgmentStore(out).read().effective().size();
        assertTrue(afterKill == 4 || afterKill == 5, "kept " + afterKill);

        Process again = start(tasks, out);
        try (OutputStream in2 = again.getOutputStream()) {
            for (int i = 0; i < 10; i++) {
                in2.write("B>A\n".getBytes(StandardCharsets.UTF_8));
            }
        }
        assertTrue(again.waitFor(60, TimeUnit.SECONDS));
        JudgmentStore.Contents c = new JudgmentStore(out).read();
        List<Judgment> effective = c.effective("kim");
        assertEquals(10, effective.size(), Files.readString(tmp.resolve("session.log")));
        assertEquals(10, effective.stream().map(Judgment::taskId).collect(Collectors.toSet()).size(),
                "every task exactly once");
        assertEquals(10, c.judgments().size(), "no judgment written twice");
        assertTrue(Files.readString(tmp.resolve("session.log")).contains("All 10 tasks judged"));
    }
}
