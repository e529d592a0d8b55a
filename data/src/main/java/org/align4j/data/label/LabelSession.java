package org.align4j.data.label;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * One annotator's session over a task file: tasks this annotator has not judged yet, in an
 * order and with candidate letters shuffled per annotator and task from one seed. Each
 * judgment is stored (and fsynced) before the next task is shown. Reads one line per answer,
 * so it works the same on a terminal and on a pipe.
 */
public final class LabelSession extends AnnotatorSession {

    /** What happened in a session. */
    public record Summary(int judged, int skipped, int flagged, int undone, int remaining, boolean quit) {
    }

    public LabelSession(List<LabelTask> tasks, JudgmentStore store, String annotator, long seed, BufferedReader in,
                        PrintStream out, boolean color, int width) {
        super(tasks, store, annotator, seed, in, out, color, width);
    }

    /** The display order (original response indices by letter) of a task for this annotator. */
    public static List<Integer> displayOrder(long seed, String annotator, LabelTask task) {
        SplittableRandom r = new SplittableRandom(seed ^ fnv(annotator + "\u0000" + task.id()));
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < task.k(); i++) {
            order.add(i);
        }
        for (int i = order.size() - 1; i > 0; i--) {
            Collections.swap(order, i, r.nextInt(i + 1));
        }
        return order;
    }

    /**
     * The order in which an annotator meets the tasks (shuffled per annotator from the seed), the same
     * in the terminal session and on the web page, so an annotator may move between them.
     */
    public static List<LabelTask> taskOrder(List<LabelTask> tasks, long seed, String annotator) {
        List<LabelTask> order = new ArrayList<>(tasks);
        Collections.shuffle(order, new Random(seed ^ fnv(annotator)));
        return order;
    }

    static long fnv(String s) {
        return org.align4j.core.util.Hashes.fnv1a64(s);
    }

    public Summary run() throws IOException {
        Set<String> judged = new HashSet<>();
        for (Judgment j : store.read().effective(annotator)) {
            if (!j.binary()) { // thumbs on single responses do not rank a task
                judged.add(j.taskId());
            }
        }
        Deque<LabelTask> pending = new ArrayDeque<>();
        for (LabelTask t : taskOrder(tasks, seed, annotator)) {
            if (!judged.contains(t.id())) {
                pending.add(t);
            }
        }
        int total = tasks.size();
        int done = judged.size();
        int skipped = 0;
        int flagged = 0;
        int undone = 0;
        if (pending.isEmpty()) {
            out.println(annotator + " has judged all " + total + " tasks in " + store.file());
            return new Summary(0, 0, 0, 0, 0, false);
        }
        out.println(bold("Labeling as " + annotator + ": " + pending.size() + " of " + total
                + " tasks to go. Rank best first (B>A=C), # adds a rationale; ? for help."));
        int judgedNow = 0;
        while (!pending.isEmpty()) {
            LabelTask task = pending.peekFirst();
            List<Integer> display = displayOrder(seed, annotator, task);
            show(task, display, done + 1, total);
            long shownAt = System.nanoTime();
            while (true) {
                out.print("> ");
                out.flush();
                String line = in.readLine();
                if (line == null) {
                    out.println();
                    return new Summary(judgedNow, skipped, flagged, undone, pending.size(), true);
                }
                if (!color) {
                    out.println(line); // not a terminal: echo the answer so that logs read like a session
                }
                RankingInput input = RankingInput.parse(line, task.k());
                double seconds = (System.nanoTime() - shownAt) / 1e9;
                if (input instanceof RankingInput.Invalid bad) {
                    out.println(red(bad.message()));
                    continue;
                }
                if (input instanceof RankingInput.Ranked r) {
                    store.append(task.id(), annotator, toOriginal(r.displayedGroups(), display), List.of(),
                            r.rationale(), seconds, display);
                    pending.removeFirst();
                    done++;
                    judgedNow++;
                    break;
                }
                if (input instanceof RankingInput.Flag f) {
                    store.append(task.id(), annotator, null, List.of(f.reason()), "", seconds, display);
                    pending.removeFirst();
                    done++;
                    flagged++;
                    judgedNow++;
                    break;
                }
                char c = ((RankingInput.Command) input).command();
                if (c == 'q') {
                    out.println("saved; run the same command again to continue");
                    return new Summary(judgedNow, skipped, flagged, undone, pending.size(), true);
                }
                if (c == '?') {
                    help(task.k());
                    continue;
                }
                if (c == 's') {
                    pending.addLast(pending.removeFirst());
                    skipped++;
                    break;
                }
                // undo: retract this annotator's latest judgment and show that task again
                List<Judgment> mine = store.read().effective(annotator).stream().filter(j -> !j.binary()).toList();
                if (mine.isEmpty()) {
                    out.println(red("nothing to undo"));
                    continue;
                }
                Judgment last = mine.get(mine.size() - 1);
                store.retract(last);
                undone++;
                done--;
                for (LabelTask t : tasks) {
                    if (t.id().equals(last.taskId())) {
                        pending.addFirst(t);
                    }
                }
                out.println("undone: task " + last.taskId());
                break;
            }
        }
        out.println(bold("All " + total + " tasks judged. Thank you!"));
        return new Summary(judgedNow, skipped, flagged, undone, 0, false);
    }

    static Ranking toOriginal(List<List<Integer>> displayed, List<Integer> display) {
        List<List<Integer>> groups = new ArrayList<>();
        for (List<Integer> g : displayed) {
            List<Integer> og = new ArrayList<>();
            for (int letter : g) {
                og.add(display.get(letter));
            }
            groups.add(og);
        }
        return new Ranking(groups);
    }

    private void show(LabelTask task, List<Integer> display, int n, int total) {
        out.println();
        out.println(bold("[" + n + " of " + total + "] task " + task.id()));
        out.println(bold("Prompt:"));
        wrap(task.prompt(), "  ");
        for (int i = 0; i < display.size(); i++) {
            out.println(bold((char) ('A' + i) + ")"));
            wrap(task.responses().get(display.get(i)), "  ");
        }
        out.println("rank best first (e.g. " + RankingInput.example(task.k()) + "), s skip, u undo, f flag, ? help,"
                + " q quit");
    }

    private void help(int k) {
        out.println("  " + RankingInput.example(k) + "       best first; = ties (" + RankingInput.letters(k) + ")");
        out.println("  B>A>C # why   a rationale after #");
        out.println("  s             skip this task for now");
        out.println("  u             undo your last judgment");
        out.println("  f [reason]    flag the task: bad (all responses bad), unsafe, unclear (prompt)");
        out.println("  q             quit; running the same command later continues where you stopped");
    }

    private void wrap(String text, String indent) {
        wrap(out, width, text, indent);
    }

    /** Prints text wrapped to {@code width} with an indent, keeping the text's own line breaks. */
    static void wrap(PrintStream out, int width, String text, String indent) {
        int w = width - indent.length();
        for (String para : text.split("\n", -1)) {
            StringBuilder line = new StringBuilder();
            for (String word : para.split(" ")) {
                if (line.length() > 0 && line.length() + 1 + word.length() > w) {
                    out.println(indent + line);
                    line.setLength(0);
                }
                line.append(line.length() == 0 ? "" : " ").append(word);
            }
            out.println(indent + line);
        }
    }

    private String bold(String s) {
        return color ? "\u001b[1m" + s + "\u001b[0m" : s;
    }

    private String red(String s) {
        return color ? "\u001b[31m" + s + "\u001b[0m" : s;
    }
}
