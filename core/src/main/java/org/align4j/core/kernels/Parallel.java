package org.align4j.core.kernels;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;

/**
 * Splits a row range over a fixed set of daemon threads (the caller runs the first chunk).
 * Not the common ForkJoinPool: on a 2-core machine that has a parallelism of 1.
 */
final class Parallel implements AutoCloseable {

    /** Body of a parallel loop over rows {@code [from, to)}. */
    @FunctionalInterface
    interface RangeBody {
        void run(int from, int to);
    }

    private final int threads;
    private final ExecutorService pool;

    Parallel(int threads) {
        this.threads = Math.max(1, threads);
        ThreadFactory factory = r -> {
            Thread t = new Thread(r, "align4j-kernel");
            t.setDaemon(true);
            return t;
        };
        this.pool = this.threads > 1 ? Executors.newFixedThreadPool(this.threads - 1, factory) : null;
    }

    /** Number of chunks {@link #forRange} splits {@code n} rows into. */
    int chunks(int n, int minPerThread) {
        return Math.min(threads, Math.max(1, n / Math.max(1, minPerThread)));
    }

    /** Index of the chunk that starts at {@code from} (chunks are fixed by n and the thread count). */
    int chunkOf(int from, int n, int minPerThread) {
        int parts = chunks(n, minPerThread);
        for (int p = parts - 1; p > 0; p--) {
            if ((int) ((long) n * p / parts) <= from) {
                return p;
            }
        }
        return 0;
    }

    /** Runs {@code body} over {@code [0, n)}; work smaller than {@code minPerThread} rows stays on one thread. */
    void forRange(int n, int minPerThread, RangeBody body) {
        int parts = chunks(n, minPerThread);
        if (parts <= 1 || pool == null) {
            body.run(0, n);
            return;
        }
        @SuppressWarnings("unchecked")
        Future<?>[] futures = new Future<?>[parts - 1];
        for (int p = 1; p < parts; p++) {
            int from = (int) ((long) n * p / parts);
            int to = (int) ((long) n * (p + 1) / parts);
            futures[p - 1] = pool.submit(() -> body.run(from, to));
        }
        body.run(0, (int) ((long) n / parts));
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted in a parallel kernel", e);
            } catch (java.util.concurrent.ExecutionException e) {
                Throwable cause = e.getCause();
                if (cause instanceof RuntimeException re) {
                    throw re;
                }
                throw new IllegalStateException(cause);
            }
        }
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdownNow();
        }
    }
}
