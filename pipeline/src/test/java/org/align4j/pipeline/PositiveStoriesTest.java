package org.align4j.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.util.Json;
import org.align4j.examples.StoryCorpus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The controlled task: held-out prompts the base model never saw, disjoint splits, SFT pairs that rebuild stories. */
class PositiveStoriesTest {

    @TempDir
    Path tmp;

    static List<JsonNode> rows(Path file) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            out.add(Json.MAPPER.readTree(line));
        }
        return out;
    }

    @Test
    void heldOutPromptsAreUnseenByTheBaseModelAndByTraining() throws IOException {
        PositiveStories.TaskFiles f = PositiveStories.write(tmp, 300, 60, 200, 20, PositiveStories.SEED);
        List<String> held = rows(f.heldOutPrompts()).stream().map(r -> r.get("prompt").asText()).toList();
        Set<String> train = new HashSet<>();
        rows(f.trainPrompts()).forEach(r -> train.add(r.get("prompt").asText()));
        Set<String> base = new HashSet<>();
        for (String s : StoryCorpus.stories(PositiveStories.BASE_CORPUS, PositiveStories.BASE_SEED)) {
            PositiveStories.Story st = PositiveStories.split(s);
            if (st != null) {
                base.add(st.opening());
            }
        }
        assertEquals(60, new HashSet<>(held).size());
        assertEquals(300, train.size());
        for (String h : held) {
            assertFalse(base.contains(h), "seen by the base model: " + h);
            assertFalse(train.contains(h), "also a training prompt: " + h);
        }
        List<JsonNode> sft = rows(f.sftTrain());
        assertEquals(200, sft.size());
        for (JsonNode r : sft) {
            assertTrue(r.get("prompt").asText().endsWith(".") && r.get("completion").asText().startsWith(" "), r.toString());
        }
    }

    @Test
    void splittingKeepsTheWholeStory() {
        PositiveStories.Story s = PositiveStories.split("Mia went to the park. She was happy. The end.");
        assertEquals("Mia went to the park.", s.opening());
        assertEquals(" She was happy. The end.", s.rest());
        assertEquals(null, PositiveStories.split("Only one sentence."));
    }
}
