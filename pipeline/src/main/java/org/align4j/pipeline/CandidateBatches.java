package org.align4j.pipeline;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.align4j.core.backend.Backend;
import org.align4j.core.checkpoint.ModelSource;
import org.align4j.core.generate.Generation;
import org.align4j.core.generate.Generator;
import org.align4j.core.generate.SamplingConfig;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.tokenizer.BpeTokenizer;
import org.align4j.core.tokenizer.SpecialTokens;
import org.align4j.core.tokenizer.TokenizerFiles;
import org.align4j.core.util.UserInputException;
import org.align4j.train.scale.Cluster;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Candidate sampling on one batch of prompts: the same code in one process and on Spark executors.
 * Every draw is seeded by its record, not by its batch: in the first round candidate j of prompt
 * number q (in file order) samples from generator q * K + j of the seed, a retry of a prompt from
 * the generators of its line and round; so the candidates depend neither on how prompts are batched
 * nor on which executor ran a batch.
 */
final class CandidateBatches implements Cluster.SliceWork<CandidateBatches.Batch, CandidateBatches.Drawn> {

    private static final long serialVersionUID = 1L;

    /** Names under which a job ships its files (Spark broadcasts them once per job). */
    static final String MODEL = "model";
    static final String ADAPTER = "adapter";

    /** Tries a prompt gets to yield K distinct responses. */
    private static final int ROUNDS = 8;

    /**
     * Prompts {@code first}, {@code first + 1}, ... of the list, sampled together in the first round
     * (batches of 8 x K run several times faster than K alone).
     */
    record Batch(int first, ArrayList<Candidates.Prompt> prompts) implements Serializable {
    }

    /** Each prompt's K distinct responses, in the batch's order. */
    record Drawn(ArrayList<ArrayList<String>> responses) implements Serializable {
    }

    /** The model that samples and its tokenizer. */
    record Model(DecoderModel model, BpeTokenizer tokenizer) {
    }

    private final Candidates.Sampling sampling;
    /** The prompt file, for the message naming a prompt that yields too few responses. */
    private final String promptFile;

    CandidateBatches(Candidates.Sampling sampling, Path promptFile) {
        this.sampling = sampling;
        this.promptFile = promptFile.toString();
    }

    static List<Batch> batches(List<Candidates.Prompt> prompts, int promptsPerBatch) {
        List<Batch> out = new ArrayList<>();
        for (int start = 0; start < prompts.size(); start += promptsPerBatch) {
            out.add(new Batch(start, new ArrayList<>(prompts.subList(start, Math.min(prompts.size(),
                    start + promptsPerBatch)))));
        }
        return out;
    }

    static Map<String, Path> shipped(ModelSource source) {
        Map<String, Path> m = new HashMap<>();
        m.put(MODEL, source.model());
        m.put(ADAPTER, source.adapter());
        return m;
    }

    /** The model limited to its tokenizer's vocabulary, as the driver and every task load it. */
    static Model load(ModelSource source, Kernels kernels) throws IOException {
        DecoderModel m = source.load(kernels, DataType.FLOAT, false);
        BpeTokenizer tok = TokenizerFiles.load(source.tokenizerDir());
        m.limitVocabulary(tok);
        return new Model(m, tok);
    }

    @Override
    public List<Drawn> run(List<Batch> slice, Cluster.Shipped files) throws IOException {
        // a task's own model: it keeps per-forward buffers, so concurrent tasks must not share one
        Model m = load(new ModelSource(files.path(MODEL), files.path(ADAPTER)), Backend.get().kernels());
        List<Drawn> out = new ArrayList<>();
        for (Batch b : slice) {
            out.add(draw(m, b));
        }
        return out;
    }

    /**
     * K distinct, non-blank responses for each prompt of the batch: all prompts sampled together
     * first, then a prompt still short of K alone, up to 8 rounds; fewer is an error naming its line.
     */
    Drawn draw(Model m, Batch b) {
        BpeTokenizer tok = m.tokenizer();
        int k = sampling.k();
        Set<Integer> stops = SpecialTokens.stops(tok, m.model().config().eosTokenId());
        Generator gen = new Generator(m.model());
        List<int[]> batch = new ArrayList<>();
        for (Candidates.Prompt p : b.prompts()) {
            int[] ids = tok.encode(p.text());
            for (int i = 0; i < k; i++) {
                batch.add(ids);
            }
        }
        SamplingConfig first = config(sampling.seed() * 1_000_003L, stops);
        List<Generation> g = gen.generate(batch, first, tok::decode, (long) b.first() * k);
        ArrayList<ArrayList<String>> out = new ArrayList<>();
        for (int c = 0; c < b.prompts().size(); c++) {
            Candidates.Prompt p = b.prompts().get(c);
            Set<String> seen = new HashSet<>();
            ArrayList<String> responses = new ArrayList<>();
            keep(g.subList(c * k, (c + 1) * k), first, tok, k, seen, responses);
            for (int round = 1; responses.size() < k && round < ROUNDS; round++) {
                SamplingConfig cfg = config(sampling.seed() * 1_000_003L + p.line() * 31L + round, stops);
                keep(gen.generate(batch.subList(c * k, (c + 1) * k), cfg, tok::decode), cfg, tok, k, seen, responses);
            }
            if (responses.size() < k) {
                throw new UserInputException(promptFile + ":" + p.line() + ": found only " + responses.size()
                        + " distinct responses in " + ROUNDS + " rounds; raise the temperature or lower k");
            }
            out.add(responses);
        }
        return new Drawn(out);
    }

    private SamplingConfig config(long seed, Set<Integer> stops) {
        return new SamplingConfig(sampling.maxNewTokens(), sampling.temperature(), 0, sampling.topP(), seed, 0, stops,
                List.of());
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
}
