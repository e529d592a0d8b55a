package org.align4j.cli;

import java.util.concurrent.Callable;

import org.align4j.core.backend.Backend;
import org.align4j.core.run.RunDirectory;
import org.align4j.train.LoopResult;
import org.align4j.train.TrainingFailure;

/** Runs a training stage and turns its outcome into the exit code every training command uses. */
final class TrainingCommands {

    @FunctionalInterface
    interface Stage {
        LoopResult run() throws Exception;
    }

    private TrainingCommands() {
    }

    /** 0: succeeded or cancelled (resumable); 2: training failed (NaN, nothing to train on). */
    static int exitCode(Stage stage) throws Exception {
        return guarded(() -> {
            LoopResult r = stage.run();
            return r.status() == RunDirectory.Status.SUCCEEDED || r.status() == RunDirectory.Status.CANCELLED ? 0 : 1;
        });
    }

    /** Runs training work that reports its own exit code; a training failure is exit code 2. */
    static int guarded(Callable<Integer> work) throws Exception {
        System.err.println("backend: " + Backend.get().description());
        try {
            return work.call();
        } catch (TrainingFailure e) {
            System.err.println("align4j: " + e.getMessage());
            return 2;
        }
    }
}
