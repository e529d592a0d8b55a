package org.align4j.serve.infer;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Consumer;

import org.align4j.core.chat.ChatTemplate;
import org.align4j.core.generate.ContinuousDecoder;
import org.align4j.core.generate.SamplingConfig;
import org.align4j.core.kernels.CpuKernels;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.tokenizer.BpeTokenizer;
import org.align4j.core.util.UserInputException;
import org.align4j.serve.ApiError;

/**
 * A loaded causal LM and the one thread that decodes for it: requests queue their sequences here and
 * the thread admits them into its {@link ContinuousDecoder} between steps, so every request to the
 * model is decoded in one batch. The model is touched by that thread only.
 */
final class LanguageModel implements AutoCloseable {

    /** Sequences one model decodes together; more wait for a row. */
    static final int MAX_ROWS = 32;
    /** Sequences waiting beyond the batch before new requests get a 429. */
    static final int MAX_WAITING = 1024;

    private final String id;
    private final DecoderModel model;
    private final BpeTokenizer tokenizer;
    private final ChatTemplate template;
    private final Set<Integer> stops;
    private final ContinuousDecoder decoder;
    private final LinkedBlockingQueue<Consumer<ContinuousDecoder>> inbox = new LinkedBlockingQueue<>();
    private final Thread thread;
    private final PrintStream log;
    private volatile boolean closed;
    /** The most sequences decoded in one step so far (shows that concurrent requests share steps). */
    private volatile int peakBatch;

    LanguageModel(String id, DecoderModel model, BpeTokenizer tokenizer, ChatTemplate template, Set<Integer> stops,
                  PrintStream log) {
        this.id = id;
        this.model = model;
        this.tokenizer = tokenizer;
        this.template = template;
        this.stops = stops;
        this.log = log;
        this.decoder = new ContinuousDecoder(model, MAX_ROWS);
        this.thread = new Thread(this::loop, "align4j-decode-" + id);
        thread.setDaemon(true);
        thread.start();
    }

    String id() {
        return id;
    }

    BpeTokenizer tokenizer() {
        return tokenizer;
    }

    ChatTemplate template() {
        return template;
    }

    Set<Integer> stops() {
        return stops;
    }

    int contextLength() {
        return model.config().contextLength() - model.virtualTokenCount();
    }

    int vocabSize() {
        return model.config().vocabSize();
    }

    int peakBatch() {
        return peakBatch;
    }

    /** Text of token ids (for stop strings and responses). */
    String decode(int[] ids) {
        return tokenizer.decode(ids);
    }

    /** One sequence to decode: its prompt, sampling, random stream and where its events go. */
    record Job(int[] prompt, SamplingConfig cfg, SplittableRandom rng, ContinuousDecoder.Listener listener) {
    }

    /**
     * Queues {@code jobs} (one request's sequences); they join the running batch at its next step.
     * Returns handles to cancel them. Prompts that do not fit the context are refused here, with
     * {@code param}, before anything runs.
     */
    List<Handle> submit(List<Job> jobs, String param) {
        if (closed) {
            throw new ApiError(503, "server_error", null, null, "The server is shutting down.");
        }
        for (Job j : jobs) {
            if (j.prompt().length == 0) {
                throw ApiError.invalid(param, "The prompt is empty.");
            }
            if (j.prompt().length >= contextLength()) {
                throw ApiError.invalid(param, "This model's maximum context length is " + contextLength()
                        + " tokens; your prompt has " + j.prompt().length + " tokens, which leaves no room for a"
                        + " completion.");
            }
            for (int t : j.prompt()) {
                if (t < 0 || t >= vocabSize()) {
                    throw ApiError.invalid(param, "Token id " + t + " is outside the vocabulary [0, " + vocabSize()
                            + ").");
                }
            }
        }
        if (inbox.size() + decoder.waiting() > MAX_WAITING) {
            throw ApiError.overloaded("Model '" + id + "' has too many requests waiting; retry shortly.");
        }
        List<Handle> handles = new ArrayList<>();
        for (Job j : jobs) {
            Handle h = new Handle();
            handles.add(h);
            inbox.add(d -> {
                try {
                    h.sequence = d.add(j.prompt(), j.cfg(), j.rng(), j.cfg().stopStrings().isEmpty() ? null
                            : this::decode, j.listener());
                    if (h.cancelled) {
                        h.sequence.cancel();
                    }
                } catch (UserInputException e) {
                    j.listener().failed(e);
                }
            });
        }
        return handles;
    }

    /** A queued sequence, cancellable from any thread. */
    static final class Handle {
        private volatile ContinuousDecoder.Sequence sequence;
        private volatile boolean cancelled;

        void cancel() {
            cancelled = true;
            ContinuousDecoder.Sequence s = sequence;
            if (s != null) {
                s.cancel();
            }
        }
    }

    private void loop() {
        while (!closed) {
            try {
                if (decoder.idle()) {
                    inbox.take().accept(decoder);
                }
                Consumer<ContinuousDecoder> next;
                while ((next = inbox.poll()) != null) {
                    next.accept(decoder);
                }
                decoder.step();
                peakBatch = Math.max(peakBatch, decoder.running());
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException | Error e) {
                // the decoder failed its sequences (their requests get a 500); the loop goes on
                log.println("align4j serve: decoding with model '" + id + "' failed:");
                e.printStackTrace(log);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // requests still waiting get their answer (a 503 shape through the run) rather than hang
        Consumer<ContinuousDecoder> queued;
        while ((queued = inbox.poll()) != null) {
            queued.accept(decoder);
        }
        decoder.failAll(new IllegalStateException("the server is stopping"));
        if (model.kernels() instanceof CpuKernels k) {
            k.close();
        }
    }
}
