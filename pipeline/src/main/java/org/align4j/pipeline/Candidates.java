package org.align4j.pipeline;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.checkpoint.ModelSource;
import org.align4j.core.generate.Generation;
import org.align4j.core.generate.Generator;
import org.align4j.core.generate.SamplingConfig;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.tokenizer.BpeTokenizer;
import org.align4j.core.tokenizer.SpecialTokens;
import org.align4j.core.tokenizer.TokenizerFiles;
import org.align4j.core.util.Json;
import org.align4j.core.util.UserInputException;
import org.align4j.data.format.Content;
import org.align4j.data.jsonl.JsonlReader;
import org.align4j.data.jsonl.JsonlWriter;
import org.align4j.data.label.LabelTask;
import org.align4j.reward.ActiveSelection;
import org.align4j.reward.RewardScorer;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Labeling tasks: K distinct responses sampled from a model for each prompt (what {@code label
 * prepare} writes and the pipeline labels), and the choice of which tasks a labeling budget keeps.
 */
public final class Candidates {

    /** How candidates are sampled. */
    public record Sampling(int k, double temperature, double topP, int maxNewTokens, long seed) {
    }

    /** A prompt of a prompt file and the line it came from (which seeds its sampling). */
    public record Prompt(String id, String text, long line) {
    }

    private static final int ROUNDS = 8;
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
     */
    public static List<LabelTask> sample(ModelSource source, Path promptFile, List<Prompt> prompts, Sampling s,
                                         Kernels kernels, PrintStream log) throws IOException {
        if (s.k() < LabelTask.MIN_K || s.k() > LabelTask.MAX_K) {
            throw new UserInputException("k must be between " + LabelTask.MIN_K + " and " + LabelTask.MAX_K);
        }
        DecoderModel m = source.load(kernels, DataType.FLOAT, false);
        BpeTokenizer tok = TokenizerFiles.load(source.tokenizerDir());
        m.limitVocabulary(tok);
        Set<Integer> stops = SpecialTokens.stops(tok, m.config().eosTokenId());
        Generator gen = new Generator(m);
        // every prompt is checked before any sampling, so a long one is named by its line, not found midway
        for (Prompt p : prompts) {
            requireFits(promptFile + ":" + p.line(), tok.encode(p.text()).length, m.config().contextLength(),
                    source.model());
        }
        List<LabelTask> tasks = new ArrayList<>();
        // the first round samples several prompts together (batches of 8 x K run several times
        // faster than K alone); a prompt still short of K distinct responses retries alone
        for (int start = 0; start < prompts.size(); start += PROMPTS_PER_BATCH) {
            List<Prompt> chunk = prompts.subList(start, Math.min(prompts.size(), start + PROMPTS_PER_BATCH));
            List<int[]> batch = new ArrayList<>();
            for (Prompt p : chunk) {
                int[] ids = tok.encode(p.text());
                for (int i = 0; i < s.k(); i++) {
                    batch.add(ids);
                }
            }
            SamplingConfig first = config(s, chunk.get(0), 0, stops);
            List<Generation> g = gen.generate(batch, first, tok::decode);
            for (int c = 0; c < chunk.size(); c++) {
                Prompt p = chunk.get(c);
                Set<String> seen = new HashSet<>();
                List<String> responses = new ArrayList<>();
                keep(g.subList(c * s.k(), (c + 1) * s.k()), first, tok, s.k(), seen, responses);
                for (int round = 1; responses.size() < s.k() && round < ROUNDS; round++) {
                    SamplingConfig cfg = config(s, p, round, stops);
                    keep(gen.generate(batch.subList(c * s.k(), (c + 1) * s.k()), cfg, tok::decode), cfg, tok, s.k(),
                            seen, responses);
                }
                if (responses.size() < s.k()) {
                    throw new UserInputException(promptFile + ":" + p.line() + ": found only " + responses.size()
                            + " distinct responses in " + ROUNDS + " rounds; raise the temperature or lower k");
                }
                tasks.add(new LabelTask(p.id(), p.text(), List.copyOf(responses), null, null));
            }
            log.printf("\rcandidates: %d of %d prompts", tasks.size(), prompts.size());
        }
        log.println();
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

    private static SamplingConfig config(Sampling s, Prompt p, int round, Set<Integer> stops) {
        return new SamplingConfig(s.maxNewTokens(), s.temperature(), 0, s.topP(),
                s.seed() * 1_000_003L + p.line() * 31L + round, 0, stops, List.of());
    }

    /** Adds the distinct, non-blank texts of {@code g} to {@code responses}, up to {@code k}. */
    private static void keep(List<Generation> g, SamplingConfig cfg, BpeTokenizer tok, int k, Set<String> seen,
                             List<String> responses) {
        for (Generation x : g) {
            String text = Generator.completionText(x, cfg, tok::decode);
            if (responses.size() < k && !text.isBlank() && seen.add(text)) {
                responses.add(text);
            }
        }
    }

    /** The {@code budget} tasks a strategy keeps, in their original order ({@code scorer} may be null for random). */
    public static List<LabelTask> select(List<LabelTask> tasks, RewardScorer scorer, ActiveSelection.Strategy strategy,
                                         int budget, long seed) {
        if (budget >= tasks.size()) {
            return tasks;
        }
        List<double[]> rewards = new ArrayList<>();
        for (LabelTask t : tasks) {
            rewards.add(scorer == null ? new double[0] : rewards(scorer, t));
        }
        List<LabelTask> kept = new ArrayList<>();
        for (int i : ActiveSelection.select(strategy, rewards, tasks.size(), budget, seed)) {
            kept.add(tasks.get(i));
        }
        return kept;
    }

    private static double[] rewards(RewardScorer scorer, LabelTask task) {
        List<int[]> seqs = new ArrayList<>();
        Content prompt = new Content.Text(task.prompt());
        task.responses().forEach(r -> seqs.add(scorer.encoder().scoredSequence(prompt, new Content.Text(r))));
        return scorer.score(seqs, seqs.size());
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
