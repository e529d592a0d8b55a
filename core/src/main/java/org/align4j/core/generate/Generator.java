package org.align4j.core.generate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.IntStream;

import org.align4j.core.util.UserInputException;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.model.KvCache;
import org.align4j.core.model.TokenBatch;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Batched autoregressive generation with a KV cache. Prompts are left-padded to a common
 * length and prefilled in one forward; each further step feeds one token per sequence.
 */
public final class Generator {

    private final DecoderModel model;
    /** Time the last {@link #generate} spent choosing tokens (logits to tokens, log-probabilities, stops). */
    private long samplingNanos;

    public Generator(DecoderModel model) {
        this.model = model;
    }

    /**
     * Generates a continuation for every prompt. {@code decoder} turns token ids into text for
     * stop strings (may be null when there are none).
     */
    public List<Generation> generate(List<int[]> prompts, SamplingConfig cfg, Function<int[], String> decoder) {
        return generate(prompts, cfg, decoder, 0);
    }

    /**
     * As {@link #generate(List, SamplingConfig, Function)} for the records {@code firstRecord},
     * {@code firstRecord + 1}, ... of a longer list: row i draws from {@link #recordRandom}(seed,
     * firstRecord + i), so a record's tokens do not depend on which batch (or which Spark partition)
     * it was generated in.
     */
    public List<Generation> generate(List<int[]> prompts, SamplingConfig cfg, Function<int[], String> decoder,
                                     long firstRecord) {
        if (prompts.isEmpty()) {
            return List.of();
        }
        if (!cfg.stopStrings().isEmpty() && decoder == null) {
            throw new UserInputException("stop strings need a tokenizer to decode the completion");
        }
        int b = prompts.size();
        int promptLen = 0;
        for (int[] p : prompts) {
            if (p.length == 0) {
                throw new UserInputException("empty prompt: give at least one token (e.g. the BOS token)");
            }
            promptLen = Math.max(promptLen, p.length);
        }
        // prompt tuning's virtual tokens take the first positions of the context
        int limit = model.config().contextLength() - model.virtualTokenCount();
        if (promptLen >= limit && cfg.maxNewTokens() > 0) {
            throw new UserInputException("prompt of " + promptLen + " tokens leaves no room in the context of "
                    + limit + " positions");
        }
        int maxNew = Math.min(cfg.maxNewTokens(), limit - promptLen);
        TokenBatch padded = TokenBatch.leftPadded(prompts.toArray(new int[0][]), model.config().eosTokenId());
        KvCache cache = model.newCache(b, promptLen + Math.max(1, maxNew));
        cache.setMasks(padded.keyMask(), promptLen);
        INDArray logits = model.forwardCached(cache, padded.tokens(), padded.positions(), promptLen);

        SplittableRandom[] rngs = new SplittableRandom[b];
        for (int i = 0; i < b; i++) {
            rngs[i] = recordRandom(cfg.seed(), firstRecord + i);
        }
        int[] nextPos = new int[b];
        for (int i = 0; i < b; i++) {
            nextPos[i] = prompts.get(i).length;
        }
        List<Sequence> seqs = new ArrayList<>();
        for (int i = 0; i < b; i++) {
            seqs.add(new Sequence(maxNew));
        }
        int vocab = model.config().vocabSize();
        float[] row = new float[vocab];
        // rows are downloaded only to sample or to list top log-probabilities; greedy choice and the
        // chosen tokens' log-probabilities come from the kernels, in parallel over rows
        boolean needRows = !cfg.greedy() || cfg.logprobs() > 0;
        float[] all = needRows ? new float[b * vocab] : null;
        Sampling.Scratch[] scratch = new Sampling.Scratch[cfg.greedy() ? 0 : b];
        for (int i = 0; i < scratch.length; i++) {
            scratch[i] = new Sampling.Scratch(vocab);
        }
        int[] step = new int[b];
        double[] logprobs = new double[b];
        int[] positions = new int[b];
        float[] ones = new float[b];
        Arrays.fill(ones, 1f);
        samplingNanos = 0;
        for (int t = 0; t < maxNew; t++) {
            long t0 = System.nanoTime();
            if (needRows) {
                model.kernels().download(logits, all);
            }
            if (cfg.greedy()) {
                model.kernels().argmaxRows(logits, step);
            } else {
                // rows in parallel (each has its own generator, so the tokens do not depend on the threads):
                // a row of a flat distribution costs a few hundred microseconds
                // each row is read in place and sampled with its own buffers, allocated once: no copy
                // and no allocation per row and step
                float[] logitsOfAll = all;
                IntStream.range(0, b).parallel().forEach(i -> step[i] = Sampling.sample(
                        logitsOfAll, i * vocab, vocab, cfg, rngs[i], scratch[i]));
            }
            model.kernels().logProbsOf(logits, step, logprobs);
            boolean anyOpen = false;
            for (int i = 0; i < b; i++) {
                Sequence s = seqs.get(i);
                if (s.finish != null) {
                    step[i] = model.config().eosTokenId();
                    continue;
                }
                int token = step[i];
                List<Generation.TokenLogprob> top = List.of();
                if (cfg.logprobs() > 0) {
                    System.arraycopy(all, i * vocab, row, 0, vocab);
                    top = Sampling.top(row, row[token] - logprobs[i], cfg.logprobs());
                }
                s.add(token, logprobs[i], top);
                if (cfg.stopTokenIds().contains(token)) {
                    s.finish = "stop";
                    s.visible = s.length - 1;
                } else if (!cfg.stopStrings().isEmpty() && containsStop(decoder.apply(s.ids()), cfg)) {
                    s.finish = "stop";
                }
                anyOpen |= s.finish == null;
            }
            samplingNanos += System.nanoTime() - t0;
            if (!anyOpen || t == maxNew - 1) {
                break;
            }
            for (int i = 0; i < b; i++) {
                positions[i] = Math.min(nextPos[i]++, limit - 1);
            }
            cache.setMasks(ones, 1);
            logits = model.forwardCached(cache, step, positions, 1);
        }
        List<Generation> out = new ArrayList<>();
        for (int i = 0; i < b; i++) {
            Sequence s = seqs.get(i);
            out.add(new Generation(prompts.get(i).clone(), s.ids(), Arrays.copyOf(s.logprobs, s.length),
                    List.copyOf(s.top), s.finish == null ? "length" : s.finish, s.visible < 0 ? s.length : s.visible));
        }
        return out;
    }

    /** SplittableRandom's seed increment for a generator made by {@code new SplittableRandom(seed)}. */
    private static final long GOLDEN_GAMMA = 0x9e3779b97f4a7c15L;

    /**
     * The sampling generator of record {@code record} under {@code seed}: the record-th generator split
     * off {@code new SplittableRandom(seed)}, computed directly (each split advances the root's seed by
     * two gammas), so record r costs one split whatever r is, and rows 0..b-1 of one batch get exactly
     * the generators the batch-position scheme gave them before.
     */
    public static SplittableRandom recordRandom(long seed, long record) {
        return new SplittableRandom(seed + 2 * record * GOLDEN_GAMMA).split();
    }

    /**
     * Nanoseconds the last {@link #generate} spent between forwards: reading the logits, choosing
     * tokens, their log-probabilities and top alternatives, stop checks (the sampler's share of a step).
     */
    public long samplingNanos() {
        return samplingNanos;
    }

    static boolean containsStop(String text, SamplingConfig cfg) {
        for (String stop : cfg.stopStrings()) {
            if (!stop.isEmpty() && text.contains(stop)) {
                return true;
            }
        }
        return false;
    }

    /** Text of a completion: decoded, cut before the first stop string. */
    public static String completionText(Generation g, SamplingConfig cfg, Function<int[], String> decoder) {
        String text = decoder.apply(Arrays.copyOf(g.tokenIds(), g.completionTokens()));
        int cut = text.length();
        for (String stop : cfg.stopStrings()) {
            int at = stop.isEmpty() ? -1 : text.indexOf(stop);
            if (at >= 0) {
                cut = Math.min(cut, at);
            }
        }
        return text.substring(0, cut);
    }

    /** Tokens and log-probabilities generated so far for one sequence. */
    private static final class Sequence {
        final int[] ids;
        final double[] logprobs;
        final List<List<Generation.TokenLogprob>> top = new ArrayList<>();
        int length;
        int visible = -1;
        String finish;

        Sequence(int capacity) {
            ids = new int[capacity];
            logprobs = new double[capacity];
        }

        void add(int id, double logprob, List<Generation.TokenLogprob> alternatives) {
            ids[length] = id;
            logprobs[length] = logprob;
            top.add(alternatives);
            length++;
        }

        int[] ids() {
            return Arrays.copyOf(ids, length);
        }
    }
}
