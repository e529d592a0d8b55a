package org.align4j.pipeline;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.checkpoint.ModelSource;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.util.Json;
import org.align4j.core.util.UserInputException;
import org.align4j.data.jsonl.JsonlReader;
import org.align4j.data.jsonl.JsonlWriter;
import org.align4j.data.label.LabelTask;
import org.align4j.reward.ActiveSelection;
import org.align4j.reward.RewardScorer;
import org.align4j.train.scale.ScaleOut;

/**
 * Labeling tasks: K distinct responses sampled from a model for each prompt (what {@code label
 * prepare} writes and the pipeline labels), and the choice of which tasks a labeling budget keeps.
 */
public final class Candidates {

    /** How candidates are sampled. */
    public record Sampling(int k, double temperature, double topP, int maxNewTokens, long seed)
            implements Serializable {
    }

    /** A prompt of a prompt file and the line it came from (which seeds its retries). */
    public record Prompt(String id, String text, long line) implements Serializable {
    }

    private static final int PROMPTS_PER_BATCH = 8;

    private Candidates() {
    }

    /** Reads JSONL with a {@code prompt} per line and an optional {@code id} (default {@code pLINE}). */
    public static List<Prompt> readPrompts(Path file) throws IOException {
        List<Prompt> out = new ArrayList<>();
        try (JsonlReader in = new JsonlReader(file)) {
            JsonlReader.Line line;
            while ((line = in.next()) != null) {
                if (!line.ok() || !line.json().path("prompt").isTextual()) {
                    throw new UserInputException(file + ":" + line.number() + ": needs a string field 'prompt'");
                }
                out.add(new Prompt(line.json().path("id").asText("p" + line.number()),
                        line.json().get("prompt").asText(), line.number()));
            }
        }
        if (out.isEmpty()) {
            throw new UserInputException(file + ": no prompts");
        }
        return out;
    }

    /**
     * Samples {@code s.k()} distinct, non-blank responses per prompt from the model in
     * {@code source}, trying up to 8 rounds; a prompt that yields fewer is an error naming its line.
     * With {@code scaleOut} the batches of prompts run as a job on its cluster (the model shipped once),
     * giving the same tasks as this process does; null: here.
     */
    public static List<LabelTask> sample(ModelSource source, Path promptFile, List<Prompt> prompts, Sampling s,
                                         Kernels kernels, PrintStream log, ScaleOut scaleOut) throws IOException {
        if (s.k() < LabelTask.MIN_K || s.k() > LabelTask.MAX_K) {
            throw new UserInputException("k must be between " + LabelTask.MIN_K + " and " + LabelTask.MAX_K);
        }
        // loaded here in every case: a bad model is refused, and every prompt checked, before any sampling,
        // so a long prompt is named by its line, not found midway
        CandidateBatches.Model m = CandidateBatches.load(source, kernels);
        for (Prompt p : prompts) {
            requireFits(promptFile + ":" + p.line(), m.tokenizer().encode(p.text()).length,
                    m.model().config().contextLength(), source.model());
        }
        CandidateBatches work = new CandidateBatches(s, promptFile);
        List<CandidateBatches.Batch> batches = CandidateBatches.batches(prompts, PROMPTS_PER_BATCH);
        List<CandidateBatches.Drawn> drawn = new ArrayList<>();
        if (scaleOut != null) {
            log.printf("candidates: %d prompts in %d batch(es) on %s, %d partition(s)%n", prompts.size(),
                    batches.size(), scaleOut.cluster().master(), scaleOut.slices());
            drawn = scaleOut.cluster().mapInOrder(batches, scaleOut.slices(), CandidateBatches.shipped(source), work);
        } else {
            int done = 0;
            for (CandidateBatches.Batch b : batches) {
                drawn.add(work.draw(m, b));
                done += b.prompts().size();
                log.printf("\rcandidates: %d of %d prompts", done, prompts.size());
            }
            log.println();
        }
        List<LabelTask> tasks = new ArrayList<>();
        for (int b = 0; b < batches.size(); b++) {
            List<Prompt> ps = batches.get(b).prompts();
            for (int c = 0; c < ps.size(); c++) {
                tasks.add(new LabelTask(ps.get(c).id(), ps.get(c).text(),
                        List.copyOf(drawn.get(b).responses().get(c)), null, null));
            }
        }
        return tasks;
    }

    /** Refuses a prompt that leaves no room for a response in the model's context, naming where it is. */
    static void requireFits(String where, int promptTokens, int context, Path modelDir) {
        if (promptTokens >= context) {
            throw new UserInputException(where + ": the prompt has " + promptTokens + " tokens and leaves no room for"
                    + " a response in the context of " + modelDir + " (" + context + " positions); shorten it to at"
                    + " most " + (context - 1) + " tokens");
        }
    }

    /**
     * The {@code budget} tasks a strategy keeps, in their original order. Uncertainty reads the reward
     * model in {@code rewardModel}'s scores of each task's candidates (scored as a job on
     * {@code scaleOut}'s cluster when it is not null); random needs none ({@code rewardModel} may be null).
     */
    public static List<LabelTask> select(List<LabelTask> tasks, Path rewardModel, ActiveSelection.Strategy strategy,
                                         int budget, long seed, Kernels kernels, ScaleOut scaleOut)
            throws IOException {
        if (budget >= tasks.size()) {
            return tasks;
        }
        List<double[]> rewards;
        if (strategy != ActiveSelection.Strategy.UNCERTAINTY || rewardModel == null) {
            rewards = tasks.stream().map(t -> new double[0]).toList();
        } else {
            List<TaskRewards.Task> items = tasks.stream().map(TaskRewards.Task::of).toList();
            TaskRewards work = new TaskRewards();
            rewards = scaleOut != null
                    ? scaleOut.cluster().mapInOrder(items, scaleOut.slices(), TaskRewards.shipped(rewardModel), work)
                    : work.score(RewardScorer.load(rewardModel, kernels), items);
        }
        List<LabelTask> kept = new ArrayList<>();
        for (int i : ActiveSelection.select(strategy, rewards, tasks.size(), budget, seed)) {
            kept.add(tasks.get(i));
        }
        return kept;
    }

    /** Writes tasks in the task-file format {@link LabelTask#read} reads. */
    public static void write(Path file, List<LabelTask> tasks) throws IOException {
        List<JsonNode> rows = new ArrayList<>();
        for (LabelTask t : tasks) {
            ObjectNode o = Json.MAPPER.createObjectNode().put("id", t.id()).put("prompt", t.prompt());
            t.responses().forEach(o.putArray("responses")::add);
            if (t.meta() != null) {
                o.set("meta", t.meta());
            }
            rows.add(o);
        }
        JsonlWriter.write(file, rows);
    }
}
