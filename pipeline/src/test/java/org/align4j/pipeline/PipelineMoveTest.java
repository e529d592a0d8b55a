package org.align4j.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.align4j.core.backend.Backend;
import org.align4j.core.run.RunDirectory;

/**
 * A pipeline directory's location is not one of its settings: a pipeline stopped in its PPO stage,
 * then moved (and renamed), resumes there. The stage's saved paths (its own directory, the SFT
 * model, the prompts, the reward model) lay inside the old directory and count at the new one.
 */
class PipelineMoveTest {

    private static final Path CONFIG = Path.of("src/test/resources/tiny-pipeline.json");

    @TempDir
    Path tmp;

    private static Pipeline prepare(Path out, boolean resume, PrintStream log) throws Exception {
        return Pipeline.prepare(new Pipeline.Options(CONFIG, out, resume, null, null, false),
                Backend.get().kernels(), log);
    }

    @Test
    void aMovedPipelineResumesWhereItIsNow() throws Exception {
        PrintStream log = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        Path out = tmp.resolve("before");
        Pipeline first = prepare(out, false, log);
        new RunDirectory(out.resolve("ppo")).requestCancel();
        assertFalse(first.run().finished());
        long sftEvents = new RunDirectory(out.resolve("sft")).events().size();

        Path moved = Files.createDirectories(tmp.resolve("elsewhere")).resolve("after");
        Files.move(out, moved);
        assertTrue(prepare(moved, true, log).run().finished());
        assertEquals(sftEvents, new RunDirectory(moved.resolve("sft")).events().size(), "SFT was not run again");
        List<Integer> steps = new ArrayList<>();
        for (JsonNode m : new RunDirectory(moved.resolve("ppo")).metrics()) {
            steps.add(m.get("step").asInt());
        }
        assertEquals(List.of(1, 2), steps, "PPO resumed after its first iteration");
        assertTrue(new RunDirectory(moved.resolve("ppo")).events().stream()
                .anyMatch(e -> e.toString().contains("resumed from")), "from its checkpoint");
        assertFalse(Files.exists(out));
    }
}
