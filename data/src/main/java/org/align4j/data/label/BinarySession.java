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
import java.util.Locale;
import java.util.Random;
import java.util.Set;

import org.align4j.core.util.UserInputException;

/**
 * One annotator's thumbs-up/down session ({@code label session --mode binary}): one candidate
 * response at a time, judged up (desirable) or down, into the same judgments store as a ranking
 * session (each judgment locked, appended and fsynced before the next candidate is shown; undo
 * appends a retraction). Tasks come in the annotator's shuffled order and a task's candidates in
 * its shuffled letter order, from one seed, as in {@link LabelSession}; candidates this annotator
 * has judged are not shown again, so running the session again continues where it stopped.
 */
public final class BinarySession extends AnnotatorSession {

    /** What happened in a session. */
    public record Summary(int up, int down, int flagged, int skipped, int undone, int remaining, boolean quit) {
        public int judged() {
            return up + down + flagged;
        }
    }

    /** One candidate to judge: a task and the original index of one of its responses. */
    private record Item(LabelTask task, int response) {
        String key() {
            return task.id() + "\u0000" + response;
        }
    }

    public BinarySession(List<LabelTask> tasks, JudgmentStore store, String annotator, long seed, BufferedReader in,
                         PrintStream out, boolean color, int width) {
        super(tasks, store, annotator, seed, in, out, color, width);
    }

    /** Every candidate in the order this annotator sees them. */
    List<Item> order() {
        List<LabelTask> order = new ArrayList<>(tasks);
        Collections.shuffle(order, new Random(seed ^ LabelSession.fnv(annotator)));
        List<Item> items = new ArrayList<>();
        for (LabelTask t : order) {
            for (int r : LabelSession.displayOrder(seed, annotator, t)) {
                items.add(new Item(t, r));
            }
        }
        return items;
    }

    private List<Judgment> mine() throws IOException {
        return store.read().effective(annotator).stream().filter(Judgment::binary).toList();
    }

    public Summary run() throws IOException {
        Set<String> judged = new HashSet<>();
        for (Judgment j : mine()) {
            judged.add(j.taskId() + "\u0000" + j.response());
        }
        List<Item> all = order();
        Deque<Item> pending = new ArrayDeque<>();
        for (Item i : all) {
            if (!judged.contains(i.key())) {
                pending.add(i);
            }
        }
        int total = all.size();
        int done = total - pending.size();
        int up = 0;
        int down = 0;
        int flagged = 0;
        int skipped = 0;
        int undone = 0;
        if (pending.isEmpty()) {
            out.println(annotator + " has judged all " + total + " candidates in " + store.file());
            return new Summary(0, 0, 0, 0, 0, 0, false);
        }
        out.println(bold("Thumbs as " + annotator + ": " + pending.size() + " of " + total + " candidates to go."
                + " + good, - bad, # adds a rationale; ? for help."));
        while (!pending.isEmpty()) {
            Item item = pending.peekFirst();
            show(item, done + 1, total);
            long shownAt = System.nanoTime();
            while (true) {
                out.print("> ");
                out.flush();
                String line = in.readLine();
                if (line == null) {
                    out.println();
                    return new Summary(up, down, flagged, skipped, undone, pending.size(), true);
                }
                if (!color) {
                    out.println(line); // not a terminal: echo the answer so that logs read like a session
                }
                double seconds = (System.nanoTime() - shownAt) / 1e9;
                String rationale = "";
                String s = line.strip();
                int hash = s.indexOf('#');
                if (hash >= 0) {
                    rationale = s.substring(hash + 1).strip();
                    s = s.substring(0, hash).strip();
                }
                String a = s.toLowerCase(Locale.ROOT);
                Boolean thumb = switch (a) {
                    case "+", "y", "yes", "up", "good" -> Boolean.TRUE;
                    case "-", "n", "no", "down", "bad" -> Boolean.FALSE;
                    default -> null;
                };
                if (thumb != null) {
                    store.appendBinary(item.task().id(), annotator, item.response(), thumb, List.of(), rationale,
                            seconds);
                    pending.removeFirst();
                    done++;
                    if (thumb) {
                        up++;
                    } else {
                        down++;
                    }
                    break;
                }
                if (a.equals("f") || a.startsWith("f ")) {
                    String reason = a.length() > 1 ? a.substring(2).strip().replace(' ', '_') : "bad";
                    reason = switch (reason) {
                        case "bad" -> "all_bad";
                        case "unclear" -> "prompt_unclear";
                        default -> reason;
                    };
                    if (!RankingInput.FLAG_REASONS.contains(reason)) {
                        out.println(red("flag reasons: bad, unsafe, unclear (e.g. 'f unsafe')"));
                        continue;
                    }
                    store.appendBinary(item.task().id(), annotator, item.response(), null, List.of(reason), rationale,
                            seconds);
                    pending.removeFirst();
                    done++;
                    flagged++;
                    break;
                }
                if (a.equals("q")) {
                    out.println("saved; run the same command again to continue");
                    return new Summary(up, down, flagged, skipped, undone, pending.size(), true);
                }
                if (a.equals("?")) {
                    help();
                    continue;
                }
                if (a.equals("s")) {
                    pending.addLast(pending.removeFirst());
                    skipped++;
                    break;
                }
                if (a.equals("u")) {
                    // undo: retract this annotator's latest thumb and show that candidate again
                    List<Judgment> mine = mine();
                    if (mine.isEmpty()) {
                        out.println(red("nothing to undo"));
                        continue;
                    }
                    Judgment last = mine.get(mine.size() - 1);
                    store.retract(last);
                    undone++;
                    done--;
                    for (Item i : all) {
                        if (i.task().id().equals(last.taskId()) && i.response() == last.response()) {
                            pending.remove(i);
                            pending.addFirst(i);
                        }
                    }
                    out.println("undone: task " + last.taskId() + ", response " + last.response());
                    break;
                }
                out.println(red(s.isEmpty() ? "type + (good) or - (bad), or ? for help"
                        : "'" + s + "' is not an answer: + good, - bad, s skip, u undo, f flag, q quit"));
            }
        }
        out.println(bold("All " + total + " candidates judged. Thank you!"));
        return new Summary(up, down, flagged, skipped, undone, 0, false);
    }

    private void show(Item item, int n, int total) {
        out.println();
        out.println(bold("[" + n + " of " + total + "] task " + item.task().id()));
        out.println(bold("Prompt:"));
        LabelSession.wrap(out, width, item.task().prompt(), "  ");
        out.println(bold("Response:"));
        LabelSession.wrap(out, width, item.task().responses().get(item.response()), "  ");
        out.println("+ good, - bad, s skip, u undo, f flag, ? help, q quit");
    }

    private void help() {
        out.println("  + (or y, up)    a good response: desirable");
        out.println("  - (or n, down)  a bad response: undesirable");
        out.println("  + # why         a rationale after #");
        out.println("  s               skip this response for now");
        out.println("  u               undo your last thumb");
        out.println("  f [reason]      flag the response: bad, unsafe, unclear (prompt)");
        out.println("  q               quit; running the same command later continues where you stopped");
    }

    private String bold(String s) {
        return color ? "\u001b[1m" + s + "\u001b[0m" : s;
    }

    private String red(String s) {
        return color ? "\u001b[31m" + s + "\u001b[0m" : s;
    }
}
