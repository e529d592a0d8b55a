package org.align4j.data.prepare;

import java.util.ArrayList;
import java.util.List;

import org.align4j.data.format.Content;
import org.align4j.data.format.DataRecord;

/**
 * A K-way ranking as preference pairs: every response of a better group against every response
 * of each worse group; responses tied in a group give no pair. A full ranking of K gives
 * C(K,2) pairs (InstructGPT trains on all of them, weighted 1/C(K,2) per prompt).
 */
public final class RankingPairs {

    private RankingPairs() {
    }

    public static List<DataRecord.Preference> expand(DataRecord.Ranking r) {
        List<DataRecord.Preference> out = new ArrayList<>();
        List<List<Integer>> groups = r.ranking();
        for (int g = 0; g < groups.size(); g++) {
            for (int worse = g + 1; worse < groups.size(); worse++) {
                for (int i : groups.get(g)) {
                    for (int j : groups.get(worse)) {
                        out.add(new DataRecord.Preference(new Content.Text(r.prompt()),
                                new Content.Text(r.responses().get(i)), new Content.Text(r.responses().get(j)), null));
                    }
                }
            }
        }
        return out;
    }

    /** Number of pairs without building them: C(K,2) minus the tied pairs inside groups. */
    public static long count(DataRecord.Ranking r) {
        long k = r.responses().size();
        long pairs = k * (k - 1) / 2;
        for (List<Integer> g : r.ranking()) {
            pairs -= (long) g.size() * (g.size() - 1) / 2;
        }
        return pairs;
    }
}
