package org.align4j.core.generate;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.IntStream;

import org.align4j.core.model.DecoderModel;
import org.align4j.core.model.KvBatch;
import org.align4j.core.model.KvCache;
import org.align4j.core.util.UserInputException;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Continuous batching: sequences are added at any time and decoded together; each joins the running
 * batch at the next {@link #step} (prefilled alone, then its keys copied into the batch's cache,
 * see {@link KvBatch}) and leaves it when it ends. Tokens are chosen exactly as {@link Generator}
 * chooses them (greedy argmax, or {@link Sampling} from the sequence's own random stream; the
 * model's log-probabilities; stop tokens and strings), so a sequence's output does not depend on
 * what else is decoded beside it, up to the float rounding of the batched kernels.
 *
 * <p>Not thread-safe: one thread (a model's worker) adds, cancels and steps.
 */
public final class ContinuousDecoder {

    /** Receives a sequence's tokens as they are chosen, then its result; called on the stepping thread. */
    public interface Listener {
        void token(int id, double logprob, List<Generation.TokenLogprob> top);

        void finished(Generation generation);

        /** The decoder failed (a bug or an out-of-memory); the sequence is over. */
        default void failed(RuntimeException e) {
        }
    }

    /** A sequence being decoded; {@link #cancel} ends it at the next step. */
    public static final class Sequence {
        private final int[] prompt;
        private final SamplingConfig cfg;
        private final SplittableRandom rng;
        private final Function<int[], String> decoder;
        private final Listener listener;
        private final int maxNew;
        private final int[] ids;
        private final double[] logprobs;
        private final List<List<Generation.TokenLogprob>> top = new ArrayList<>();
        private Sampling.Scratch scratch;
        private int length;
        private int visible = -1;
        private String finish;
        private KvBatch.Row row;
        private volatile boolean cancelled;

        private Sequence(int[] prompt, SamplingConfig cfg, SplittableRandom rng, Function<int[], String> decoder,
                         Listener listener, int maxNew) {
            this.prompt = prompt.clone();
            this.cfg = cfg;
            this.rng = rng;
            this.decoder = decoder;
            this.listener = listener;
            this.maxNew = maxNew;
            this.ids = new int[maxNew];
            this.logprobs = new double[maxNew];
        }

        /** Ends the sequence at the next step without a result (its client went away). */
        public void cancel() {
            cancelled = true;
        }

        int position() {
            return prompt.length + length - 1;
        }

        int last() {
            return ids[length - 1];
        }
    }

    private final DecoderModel model;
    private final KvBatch batch;
    private final ArrayDeque<Sequence> waiting = new ArrayDeque<>();
    private final List<Sequence> running = new ArrayList<>();
    private final int vocab;
    private float[] all = new float[0];
    private final float[] row;

    public ContinuousDecoder(DecoderModel model, int maxRows) {
        this.model = model;
        this.batch = new KvBatch(model, maxRows);
        this.vocab = model.config().vocabSize();
        this.row = new float[vocab];
    }

    /**
     * Queues a sequence; it joins the batch at the next {@link #step} with room. {@code rng} is its
     * own random stream ({@link Generator} gives prompt {@code i} of a batch the {@code i}-th split of
     * {@code new SplittableRandom(seed)}); {@code decoder} is needed for stop strings.
     */
    public Sequence add(int[] prompt, SamplingConfig cfg, SplittableRandom rng, Function<int[], String> decoder,
                        Listener listener) {
        if (prompt.length == 0) {
            throw new UserInputException("empty prompt: give at least one token (e.g. the BOS token)");
        }
        // prompt tuning's virtual tokens take the first positions of the context
        int limit = model.config().contextLength() - model.virtualTokenCount();
        if (prompt.length >= limit) {
            throw new UserInputException("prompt of " + prompt.length + " tokens leaves no room in the context of "
                    + limit + " positions");
        }
        if (cfg.maxNewTokens() < 1) {
            throw new UserInputException("max new tokens must be >= 1 here, got " + cfg.maxNewTokens());
        }
        if (!cfg.stopStrings().isEmpty() && decoder == null) {
            throw new UserInputException("stop strings need a tokenizer to decode the completion");
        }
        for (int t : prompt) {
            if (t < 0 || t >= vocab) {
                throw new UserInputException("token id " + t + " outside the vocabulary [0, " + vocab + ")");
            }
        }
        Sequence s = new Sequence(prompt, cfg, rng, decoder, listener, Math.min(cfg.maxNewTokens(),
                limit - prompt.length));
        waiting.add(s);
        return s;
    }

    /** Whether nothing is queued or running. */
    public boolean idle() {
        return waiting.isEmpty() && running.isEmpty();
    }

    public int running() {
        return running.size();
    }

    public int waiting() {
        return waiting.size();
    }

    /** The running batch's cache (for tests and measurement). */
    public KvBatch batch() {
        return batch;
    }

    /**
     * Admits waiting sequences while the batch has room (each prefilled alone and given its first
     * token), then decodes one token for every running sequence. Sequences that end leave.
     */
    public void step() {
        try {
            dropCancelled();
            while (!waiting.isEmpty() && batch.hasRoom()) {
                Sequence s = waiting.poll();
                if (!s.cancelled) {
                    admit(s);
                }
            }
            if (running.isEmpty()) {
                return;
            }
            INDArray logits = batch.step(r -> owner(r).last(), r -> owner(r).position());
            int[] index = new int[running.size()];
            for (int i = 0; i < index.length; i++) {
                index[i] = running.get(i).row.index();
            }
            List<Sequence> now = new ArrayList<>(running);
            choose(logits, batch.width(), now, index);
            for (Sequence s : now) {
                if (s.finish != null) {
                    running.remove(s);
                    batch.leave(s.row);
                    finish(s);
                }
            }
        } catch (RuntimeException e) {
            failAll(e);
            throw e;
        } catch (Error e) { // out of memory: the sequences end, their callers are told
            failAll(new IllegalStateException(e));
            throw e;
        }
    }

    private Sequence owner(KvBatch.Row r) {
        for (Sequence s : running) {
            if (s.row == r) {
                return s;
            }
        }
        throw new IllegalStateException("a row without a sequence");
    }

    private void dropCancelled() {
        for (Iterator<Sequence> it = running.iterator(); it.hasNext(); ) {
            Sequence s = it.next();
            if (s.cancelled) {
                it.remove();
                batch.leave(s.row);
            }
        }
    }

    /** Prefills {@code s} alone, chooses its first token, and puts it in the batch unless it ended. */
    private void admit(Sequence s) {
        int n = s.prompt.length;
        KvCache own = model.newCache(1, n);
        float[] ones = new float[n];
        Arrays.fill(ones, 1f);
        own.setMasks(ones, n);
        int[] positions = IntStream.range(0, n).toArray();
        INDArray logits = model.forwardCached(own, s.prompt, positions, n);
        choose(logits, 1, List.of(s), new int[] {0});
        if (s.finish != null) {
            finish(s);
            return;
        }
        s.row = batch.join(own);
        running.add(s);
    }

    /**
     * Chooses the next token of each sequence {@code seqs[k]} from row {@code index[k]} of
     * {@code logits [rows, V]}, as {@link Generator} does, and records it.
     */
    private void choose(INDArray logits, int rows, List<Sequence> seqs, int[] index) {
        boolean anyGreedy = false;
        boolean needRows = false;
        for (Sequence s : seqs) {
            anyGreedy |= s.cfg.greedy();
            needRows |= !s.cfg.greedy() || s.cfg.logprobs() > 0;
        }
        if (needRows) {
            if (all.length < rows * vocab) {
                all = new float[rows * vocab];
            }
            model.kernels().download(logits, all);
        }
        float[] values = all;
        int[] chosen = new int[rows];
        if (anyGreedy) {
            model.kernels().argmaxRows(logits, chosen);
        }
        IntStream.range(0, seqs.size()).parallel().forEach(k -> {
            Sequence s = seqs.get(k);
            if (!s.cfg.greedy()) {
                if (s.scratch == null) {
                    s.scratch = new Sampling.Scratch(vocab);
                }
                chosen[index[k]] = Sampling.sample(values, index[k] * vocab, vocab, s.cfg, s.rng, s.scratch);
            }
        });
        double[] logprobs = new double[rows];
        model.kernels().logProbsOf(logits, chosen, logprobs);
        for (int k = 0; k < seqs.size(); k++) {
            Sequence s = seqs.get(k);
            int i = index[k];
            int token = chosen[i];
            List<Generation.TokenLogprob> top = List.of();
            if (s.cfg.logprobs() > 0) {
                System.arraycopy(values, i * vocab, row, 0, vocab);
                top = Sampling.top(row, row[token] - logprobs[i], s.cfg.logprobs());
            }
            s.ids[s.length] = token;
            s.logprobs[s.length] = logprobs[i];
            s.top.add(top);
            s.length++;
            s.listener.token(token, logprobs[i], top);
            if (s.cfg.stopTokenIds().contains(token)) {
                s.finish = "stop";
                s.visible = s.length - 1;
            } else if (!s.cfg.stopStrings().isEmpty()
                    && Generator.containsStop(s.decoder.apply(Arrays.copyOf(s.ids, s.length)), s.cfg)) {
                s.finish = "stop";
            } else if (s.length == s.maxNew) {
                s.finish = "length";
            }
        }
    }

    private static void finish(Sequence s) {
        int n = s.length;
        s.listener.finished(new Generation(s.prompt.clone(), Arrays.copyOf(s.ids, n), Arrays.copyOf(s.logprobs, n),
                List.copyOf(s.top), s.finish, s.visible < 0 ? n : s.visible));
    }

    /** Ends every queued and running sequence with {@code e} (the server stops, or a step failed). */
    public void failAll(RuntimeException e) {
        List<Sequence> all = new ArrayList<>(running);
        all.addAll(waiting);
        running.clear();
        waiting.clear();
        for (Sequence s : all) {
            if (s.row != null) {
                try {
                    batch.leave(s.row);
                } catch (RuntimeException ignored) {
                    // the batch is discarded with its sequences
                }
            }
            s.listener.failed(e);
        }
    }
}
