package org.align4j.serve.infer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.LinkedBlockingQueue;

import org.align4j.core.generate.ContinuousDecoder;
import org.align4j.core.generate.Generation;
import org.align4j.core.generate.SamplingConfig;
import org.align4j.core.util.UserInputException;
import org.align4j.serve.ApiError;

/**
 * One request's sequences being decoded (its choices: {@code n} per prompt), and the events they
 * send from the model's decoding thread to the request's thread: each token as it is chosen, then
 * each choice's result. The request's thread reads them in order ({@link #next}) to stream, or
 * waits for all results ({@link #await}).
 */
final class Run {

    /** A token of choice {@code choice}, or its end ({@code done}), or a failure ({@code error}). */
    record Event(int choice, int token, double logprob, List<Generation.TokenLogprob> top, Generation done,
                 RuntimeException error) {
    }

    final LanguageModel model;
    final SamplingConfig cfg;
    final boolean wantLogprobs;
    /** Each choice's prompt index. */
    final int[] promptOf;
    final List<int[]> prompts;
    private final LinkedBlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private final List<LanguageModel.Handle> handles = new ArrayList<>();
    private int open;

    Run(LanguageModel model, List<int[]> prompts, Decoding d, SamplingConfig cfg, String param) {
        int n = d.n();
        this.model = model;
        this.cfg = cfg;
        this.wantLogprobs = d.logprobs();
        this.prompts = List.copyOf(prompts);
        this.promptOf = new int[prompts.size() * n];
        // choice k gets the k-th split of the seed's stream, as prompt k of Generator's batch does
        SplittableRandom root = new SplittableRandom(cfg.seed());
        List<LanguageModel.Job> jobs = new ArrayList<>();
        for (int k = 0; k < promptOf.length; k++) {
            promptOf[k] = k / n;
            int choice = k;
            jobs.add(new LanguageModel.Job(prompts.get(k / n), cfg, root.split(), new ContinuousDecoder.Listener() {
                @Override
                public void token(int id, double logprob, List<Generation.TokenLogprob> top) {
                    events.add(new Event(choice, id, logprob, top, null, null));
                }

                @Override
                public void finished(Generation g) {
                    events.add(new Event(choice, -1, 0, List.of(), g, null));
                }

                @Override
                public void failed(RuntimeException e) {
                    events.add(new Event(choice, -1, 0, List.of(), null, e));
                }
            }));
        }
        open = jobs.size();
        handles.addAll(model.submit(jobs, param));
    }

    int choices() {
        return promptOf.length;
    }

    /** Whether every choice has ended. */
    boolean finished() {
        return open == 0;
    }

    /** The next event (blocking); a failure ends the request with a 500. */
    Event next() throws InterruptedException {
        Event e = events.take();
        if (e.error() != null) {
            cancel();
            throw e.error() instanceof UserInputException u
                    ? ApiError.invalid(null, u.getMessage()) : ApiError.internal();
        }
        if (e.done() != null) {
            open--;
        }
        return e;
    }

    /** Every choice's result, in choice order. */
    List<Generation> await() throws InterruptedException {
        Generation[] out = new Generation[choices()];
        try {
            while (!finished()) {
                Event e = next();
                if (e.done() != null) {
                    out[e.choice()] = e.done();
                }
            }
        } catch (InterruptedException e) {
            cancel();
            throw e;
        }
        return Arrays.asList(out);
    }

    /** Stops the decoding of every unfinished choice (the client went away). */
    void cancel() {
        handles.forEach(LanguageModel.Handle::cancel);
    }

    int promptTokens() {
        return prompts.stream().mapToInt(p -> p.length).sum();
    }
}
