package org.align4j.data.label;

import java.util.ArrayList;
import java.util.List;

/**
 * What an annotator types for a task: a ranking such as {@code B>A=C>D} over the displayed
 * letters (best first, {@code =} for ties) with an optional {@code # rationale}, or a command:
 * {@code s} skip, {@code u} undo, {@code f [reason]} flag, {@code ?} help, {@code q} quit.
 */
public sealed interface RankingInput {

    /** A ranking over displayed positions (0 = A), with a rationale (may be empty). */
    record Ranked(List<List<Integer>> displayedGroups, String rationale) implements RankingInput {
    }

    /** Skip, undo, help or quit. */
    record Command(char command) implements RankingInput {
    }

    /** Flag the task with a reason. */
    record Flag(String reason) implements RankingInput {
    }

    /** Input that is neither; {@code message} says what is wrong in one line. */
    record Invalid(String message) implements RankingInput {
    }

    List<String> FLAG_REASONS = List.of("all_bad", "unsafe", "prompt_unclear");

    static RankingInput parse(String line, int k) {
        String s = line.strip();
        if (s.isEmpty()) {
            return new Invalid("type a ranking such as " + example(k) + ", or ? for help");
        }
        String lower = s.toLowerCase(java.util.Locale.ROOT);
        if (lower.equals("s") || lower.equals("u") || lower.equals("?") || lower.equals("q")) {
            return new Command(lower.charAt(0));
        }
        // with six or more candidates F is also a letter: a line with ranking syntax ("F > A > B") is a ranking
        boolean rankingSyntax = s.split("#", 2)[0].replaceAll("\\s+", "").matches("[A-Za-z](?:[>=][A-Za-z])+");
        if (!rankingSyntax && (lower.equals("f") || lower.startsWith("f "))) {
            String reason = lower.length() > 1 ? lower.substring(2).strip().replace(' ', '_') : "all_bad";
            if (reason.equals("bad")) {
                reason = "all_bad";
            } else if (reason.equals("unclear")) {
                reason = "prompt_unclear";
            }
            if (!FLAG_REASONS.contains(reason)) {
                return new Invalid("flag reasons: bad, unsafe, unclear (e.g. 'f unsafe')");
            }
            return new Flag(reason);
        }
        String rationale = "";
        int hash = s.indexOf('#');
        if (hash >= 0) {
            rationale = s.substring(hash + 1).strip();
            s = s.substring(0, hash).strip();
        }
        String compact = s.replaceAll("\\s+", "").toUpperCase(java.util.Locale.ROOT);
        if (!compact.matches("[A-Z](?:[>=][A-Z])*")) {
            return new Invalid("'" + s + "' is not a ranking: use letters joined by > and =, e.g. " + example(k));
        }
        List<List<Integer>> groups = new ArrayList<>();
        List<Integer> current = new ArrayList<>();
        boolean[] seen = new boolean[26];
        for (int i = 0; i < compact.length(); i++) {
            char c = compact.charAt(i);
            if (c == '>') {
                groups.add(current);
                current = new ArrayList<>();
            } else if (c != '=') {
                int idx = c - 'A';
                if (idx >= k) {
                    return new Invalid("unknown letter " + c + ": this task has " + letters(k));
                }
                if (seen[idx]) {
                    return new Invalid("letter " + c + " appears twice");
                }
                seen[idx] = true;
                current.add(idx);
            }
        }
        groups.add(current);
        List<Character> missing = new ArrayList<>();
        for (int i = 0; i < k; i++) {
            if (!seen[i]) {
                missing.add((char) ('A' + i));
            }
        }
        if (!missing.isEmpty()) {
            return new Invalid("rank every candidate: missing " + missing);
        }
        return new Ranked(groups, rationale);
    }

    static String letters(int k) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < k; i++) {
            sb.append(i == 0 ? "" : (i == k - 1 ? " and " : ", ")).append((char) ('A' + i));
        }
        return sb.toString();
    }

    static String example(int k) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < k; i++) {
            sb.append(i == 0 ? "" : i == 2 ? "=" : ">").append((char) ('A' + (i + 1) % k));
        }
        return sb.toString();
    }
}
