package org.align4j.data.label;

import java.io.BufferedReader;
import java.io.PrintStream;
import java.util.List;

import org.align4j.core.util.UserInputException;

/**
 * What a terminal labeling session reads and writes, whichever way it asks (a ranking of K
 * candidates, or one candidate up or down): the tasks, the crash-safe store, the annotator whose
 * seed-shuffled order it follows, and the lines it reads and prints.
 */
abstract class AnnotatorSession {

    protected final List<LabelTask> tasks;
    protected final JudgmentStore store;
    protected final String annotator;
    protected final long seed;
    protected final BufferedReader in;
    protected final PrintStream out;
    protected final boolean color;
    protected final int width;

    protected AnnotatorSession(List<LabelTask> tasks, JudgmentStore store, String annotator, long seed,
                               BufferedReader in, PrintStream out, boolean color, int width) {
        if (annotator == null || annotator.isBlank()) {
            throw new UserInputException("--annotator must name the person labeling");
        }
        this.tasks = tasks;
        this.store = store;
        this.annotator = annotator;
        this.seed = seed;
        this.in = in;
        this.out = out;
        this.color = color;
        this.width = Math.max(40, width);
    }
}
