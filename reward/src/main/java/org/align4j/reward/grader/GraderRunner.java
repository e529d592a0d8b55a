package org.align4j.reward.grader;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Grades samples, on up to {@code concurrency} threads where the grader allows it (slow graders
 * overlap; a local reward model runs on the caller's thread). A sample whose grader fails, or
 * gives a score that is not a finite number, scores 0 and keeps the message: one bad sample never
 * stops a run.
 */
public final class GraderRunner implements AutoCloseable {

    /** One sample's result: its score, the failure (null when none) and a multi grader's named scores. */
    public record Grade(double score, String error, Map<String, Double> parts) {
        public boolean failed() {
            return error != null;
        }
    }

    private final Grader grader;
    private final ExecutorService pool;

    public GraderRunner(Grader grader, int concurrency) {
        if (concurrency < 1) {
            throw new IllegalArgumentException("concurrency must be at least 1, got " + concurrency);
        }
        this.grader = grader;
        this.pool = concurrency == 1 || !grader.concurrent() ? null : Executors.newFixedThreadPool(concurrency, r -> {
            Thread t = new Thread(r, "grader");
            t.setDaemon(true); // never keeps the JVM alive
            return t;
        });
    }

    public Grader grader() {
        return grader;
    }

    /** One sample's grade; never throws for the grader's sake. */
    public Grade grade(GraderInput in) {
        try {
            Map<String, Double> parts = Map.of();
            double score;
            if (grader instanceof MultiGrader m) {
                parts = m.parts(in);
                score = m.combine(parts);
            } else {
                score = grader.grade(in);
            }
            if (!Double.isFinite(score)) {
                return new Grade(0, "grader '" + grader.name() + "' gave " + score, parts);
            }
            return new Grade(score, null, parts);
        } catch (GraderException e) {
            return new Grade(0, e.getMessage(), Map.of());
        } catch (RuntimeException | StackOverflowError e) {
            // a grader's own failure on this input (a pathological regex, a bad chat message) is the sample's, not the run's
            return new Grade(0, "grader '" + grader.name() + "' failed: " + e, Map.of());
        }
    }

    /** The grades of all samples, in their order. */
    public List<Grade> gradeAll(List<GraderInput> inputs) {
        List<Grade> out = new ArrayList<>(inputs.size());
        if (pool == null) {
            for (GraderInput in : inputs) {
                out.add(grade(in));
            }
            return out;
        }
        List<Future<Grade>> futures = new ArrayList<>(inputs.size());
        for (GraderInput in : inputs) {
            futures.add(pool.submit(() -> grade(in)));
        }
        try {
            for (Future<Grade> f : futures) {
                out.add(f.get());
            }
        } catch (InterruptedException e) {
            futures.forEach(f -> f.cancel(true));
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while grading", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("grading failed", e.getCause()); // grade() catches what graders throw
        }
        return out;
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdownNow();
        }
    }
}
