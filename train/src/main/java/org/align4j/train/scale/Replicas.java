package org.align4j.train.scale;

import org.align4j.train.Objective;

/**
 * An executor JVM's replica of the run it computes for: built on the run's first task there and
 * kept for its later steps (models, data and buffers are loaded once), with the version of the weights
 * it holds, so that two tasks of one step load the weights once. One run at a time: a task of
 * another run replaces it.
 */
final class Replicas {

    /** Builds a replica (loads the stage's model and data). */
    @FunctionalInterface
    interface Build {
        Objective build() throws Exception;
    }

    /** The replica of run {@code key}, holding the weights of version {@code version} (-1: none yet). */
    static final class Held {
        private final String key;
        private final Objective objective;
        private long version = -1;

        private Held(String key, Objective objective) {
            this.key = key;
            this.objective = objective;
        }

        Objective objective() {
            return objective;
        }

        long version() {
            return version;
        }

        void loaded(long version) {
            this.version = version;
        }
    }

    private static Held held;

    private Replicas() {
    }

    static synchronized Held get(String key, Build build) throws Exception {
        if (held == null || !held.key.equals(key)) {
            held = null; // the previous run's replica goes before the next one loads
            held = new Held(key, build.build());
        }
        return held;
    }
}
