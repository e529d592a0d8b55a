package org.align4j.train;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import org.align4j.core.util.Json;

/** Which saved paths still name the same place after a run (or the pipeline around it) moved. */
class RunLocationTest {

    private static ObjectNode settings(String root, String run, String model) {
        return Json.MAPPER.createObjectNode().put("output_dir", root + "/" + run).put("model", model)
                .put("prompts", root + "/task/train.prompts.jsonl").put("lr", 1e-3);
    }

    @Test
    void pathsUnderAMovedPipelineFollowIt() {
        ObjectNode saved = settings("/old/place/pipe", "ppo", "/old/place/pipe/sft/final");
        ObjectNode now = settings("/new/pipe-renamed", "ppo", "/new/pipe-renamed/sft/final");
        RunLocation moved = RunLocation.of(saved, now);
        assertTrue(moved.samePath("/old/place/pipe/sft/final", "/new/pipe-renamed/sft/final"));
        assertTrue(moved.samePath("/old/place/pipe/ppo/x", "/new/pipe-renamed/ppo/x"), "inside the run itself");
        assertFalse(moved.samePath("/old/place/pipe/sft/final", "/new/pipe-renamed/sft/other"));
        assertFalse(moved.samePath("/old/place/pipe/sft/final", "/old/place/pipe/sft/other"));
    }

    @Test
    void pathsCompareByWhereTheyLead() {
        RunLocation none = RunLocation.none();
        String cwd = Path.of("").toAbsolutePath().toString();
        assertTrue(none.samePath("data/train.jsonl", cwd + "/data/train.jsonl"));
        assertTrue(none.samePath("./data/", "data"));
        assertFalse(none.samePath("data/train.jsonl", "data/val.jsonl"));
        assertFalse(none.samePath("regex:red", "regex:blue"));
    }

    @Test
    void theLoopIgnoresOnlyTheRunsOwnLocation() {
        ObjectNode saved = settings("/a/runs", "dpo", "/a/models/sft");
        assertTrue(TrainingLoop.firstDifference(saved, saved.deepCopy().put("output_dir", "/b/x/dpo2")) == null,
                "output_dir is not a setting");
        assertTrue(TrainingLoop.firstDifference(saved, saved.deepCopy().putNull("adapter")) == null,
                "a setting added since, unset, is not a difference");
        String diff = TrainingLoop.firstDifference(saved, saved.deepCopy().put("model", "/a/models/other"));
        assertTrue(diff != null && diff.startsWith("model: "), diff);
    }
}
