package org.align4j.reward;

import java.util.ArrayList;
import java.util.List;

import org.align4j.data.format.Content;
import org.align4j.data.format.DataRecord;

/**
 * The sequences of one prompt that a reward model scores together, and the ordered pairs they
 * give: a preference pair is two sequences and one pair with its margin; a K-way ranking is K
 * sequences and every pair of responses in different groups (tied responses give none), each
 * weighted 1/(number of pairs) so that every prompt counts once in the batch mean, as in
 * InstructGPT. {@code ranking} holds the labelled groups (best first) for ranking metrics.
 */
public record RewardGroup(List<int[]> sequences, List<Pair> pairs, List<List<Integer>> ranking) {

    /** Sequence {@code better} is preferred to sequence {@code worse} by at least {@code margin}. */
    public record Pair(int better, int worse, double weight, double margin) {
    }

    /** The pairs of a ranking (groups of response indices, best first) with InstructGPT's weights. */
    public static List<Pair> rankingPairs(List<List<Integer>> groups) {
        List<int[]> ordered = new ArrayList<>();
        for (int g = 0; g < groups.size(); g++) {
            for (int worse = g + 1; worse < groups.size(); worse++) {
                for (int i : groups.get(g)) {
                    for (int j : groups.get(worse)) {
                        ordered.add(new int[] {i, j});
                    }
                }
            }
        }
        List<Pair> out = new ArrayList<>(ordered.size());
        for (int[] p : ordered) {
            out.add(new Pair(p[0], p[1], 1.0 / ordered.size(), 0));
        }
        return out;
    }

    /** The prompt and responses of a preference or ranking record, in sequence order. */
    public static List<Content[]> promptResponses(DataRecord r) {
        List<Content[]> out = new ArrayList<>();
        if (r instanceof DataRecord.Preference p) {
            out.add(new Content[] {p.prompt(), p.chosen()});
            out.add(new Content[] {p.prompt(), p.rejected()});
        } else if (r instanceof DataRecord.Ranking k) {
            for (String response : k.responses()) {
                out.add(new Content[] {new Content.Text(k.prompt()), new Content.Text(response)});
            }
        } else {
            throw new IllegalArgumentException(r.kind().id() + " records are not preferences or rankings");
        }
        return out;
    }

    public static List<Pair> pairsOf(DataRecord r) {
        if (r instanceof DataRecord.Preference p) {
            return List.of(new Pair(0, 1, 1.0, p.margin() == null ? 0 : p.margin()));
        }
        return rankingPairs(((DataRecord.Ranking) r).ranking());
    }

    public RewardGroup withPairs(List<Pair> newPairs) {
        return new RewardGroup(sequences, newPairs, ranking);
    }

    public int length() {
        int n = 0;
        for (int[] s : sequences) {
            n += s.length;
        }
        return n;
    }
}
