package org.align4j.pipeline;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.util.Json;
import org.align4j.data.jsonl.JsonlWriter;
import org.align4j.examples.StoryCorpus;

/**
 * The controlled task, as the DPO paper's IMDb experiment: prompts are story openings (the first
 * sentence) from the embedded story generator, under a seed whose stories are not those the base
 * model was trained on; held-out prompts appear neither among the training prompts nor among the
 * base corpus's openings. SFT data pairs an opening with the rest of its story.
 */
public final class PositiveStories {

    /** The base model was pretrained on {@code StoryCorpus.stories(12000, 0)}. */
    public static final int BASE_CORPUS = 12_000;
    public static final long BASE_SEED = 0;
    public static final long SEED = 20_261_122L;

    public record Story(String opening, String rest) {
    }

    /** The files of the task, written into {@code dir}. */
    public record TaskFiles(Path trainPrompts, Path heldOutPrompts, Path sftTrain, Path sftVal) {
    }

    private PositiveStories() {
    }

    /** A story's first sentence and the rest (with its leading space), or null when it has one sentence only. */
    public static Story split(String story) {
        int end = story.indexOf(". ");
        if (end < 0 || end + 2 >= story.length()) {
            return null;
        }
        return new Story(story.substring(0, end + 1), story.substring(end + 1));
    }

    public static TaskFiles write(Path dir, int trainPrompts, int heldOutPrompts, int sftTrain, int sftVal, long seed)
            throws IOException {
        Set<String> baseOpenings = new HashSet<>();
        for (String s : StoryCorpus.stories(BASE_CORPUS, BASE_SEED)) {
            Story st = split(s);
            if (st != null) {
                baseOpenings.add(st.opening());
            }
        }
        List<Story> stories = new ArrayList<>();
        int n = (trainPrompts + heldOutPrompts + sftTrain + sftVal) * 4;
        for (String s : StoryCorpus.stories(n, seed)) {
            Story st = split(s);
            if (st != null) {
                stories.add(st);
            }
        }
        // held-out prompts first: unseen by the base model, then unseen by every later split
        Set<String> heldOut = new LinkedHashSet<>();
        Set<String> train = new LinkedHashSet<>();
        List<Story> sft = new ArrayList<>();
        for (Story st : stories) {
            if (heldOut.size() < heldOutPrompts) {
                if (!baseOpenings.contains(st.opening())) {
                    heldOut.add(st.opening());
                }
            } else if (heldOut.contains(st.opening())) {
                continue;
            } else if (train.size() < trainPrompts) {
                train.add(st.opening());
            } else if (sft.size() < sftTrain + sftVal) {
                sft.add(st);
            }
        }
        if (heldOut.size() < heldOutPrompts || train.size() < trainPrompts || sft.size() < sftTrain + sftVal) {
            throw new IllegalStateException("the story generator gave too few distinct openings");
        }
        Files.createDirectories(dir);
        TaskFiles f = files(dir);
        JsonlWriter.write(f.trainPrompts(), prompts(train));
        JsonlWriter.write(f.heldOutPrompts(), prompts(heldOut));
        JsonlWriter.write(f.sftTrain(), completions(sft.subList(0, sftTrain)));
        JsonlWriter.write(f.sftVal(), completions(sft.subList(sftTrain, sftTrain + sftVal)));
        return f;
    }

    /** Where {@link #write} puts the task's files in {@code dir}. */
    public static TaskFiles files(Path dir) {
        return new TaskFiles(dir.resolve("prompts.train.jsonl"), dir.resolve("prompts.heldout.jsonl"),
                dir.resolve("sft.train.jsonl"), dir.resolve("sft.val.jsonl"));
    }

    private static List<JsonNode> prompts(Set<String> openings) {
        List<JsonNode> rows = new ArrayList<>();
        for (String o : openings) {
            rows.add(Json.MAPPER.createObjectNode().put("prompt", o));
        }
        return rows;
    }

    private static List<JsonNode> completions(List<Story> stories) {
        List<JsonNode> rows = new ArrayList<>();
        for (Story s : stories) {
            rows.add(Json.MAPPER.createObjectNode().put("prompt", s.opening()).put("completion", s.rest()));
        }
        return rows;
    }
}
