package org.align4j.data.label;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.align4j.data.format.DataRecord;

/**
 * Judgments to training data: per-annotator rankings, or one majority ranking per task, in the
 * data module's ranking format (which {@code RankingPairs} expands into preference pairs).
 * Flagged and retracted judgments are left out and counted.
 *
 * <p>The majority ranking orders responses by Copeland score over the annotators' pairwise
 * majorities (pairs won minus pairs lost); equal scores are tied.
 */
public final class LabelExport {

    /** The records and what was left out. */
    public record Result(List<DataRecord.Ranking> rankings, int flaggedExcluded, int retractedExcluded,
                         int tasksBelowMinAnnotators) {
    }

    private LabelExport() {
    }

    public static Result export(JudgmentStore.Contents contents, Map<String, LabelTask> tasks, boolean majority,
                                int minAnnotators) {
        int flagged = 0;
        for (Judgment j : contents.effective()) {
            flagged += j.flagged() ? 1 : 0;
        }
        int retracted = (int) contents.judgments().stream().filter(j -> contents.retracted().contains(j.id())).count();
        Map<String, Map<String, Ranking>> byTask = Agreement.byTask(contents.effective());
        List<DataRecord.Ranking> out = new ArrayList<>();
        int below = 0;
        for (Map.Entry<String, Map<String, Ranking>> e : byTask.entrySet()) {
            LabelTask task = tasks.get(e.getKey());
            if (task == null) {
                continue;
            }
            if (e.getValue().size() < minAnnotators) {
                below++;
                continue;
            }
            if (majority) {
                out.add(new DataRecord.Ranking(task.prompt(), task.responses(),
                        majorityRanking(new ArrayList<>(e.getValue().values()), task.k()).groups()));
            } else {
                for (Ranking r : e.getValue().values()) {
                    out.add(new DataRecord.Ranking(task.prompt(), task.responses(), r.groups()));
                }
            }
        }
        return new Result(out, flagged, retracted, below);
    }

    static Ranking majorityRanking(List<Ranking> rankings, int k) {
        int[] score = new int[k];
        for (int i = 0; i < k; i++) {
            for (int j = i + 1; j < k; j++) {
                int better = 0;
                int worse = 0;
                for (Ranking r : rankings) {
                    Ranking.Relation rel = r.relation(i, j);
                    better += rel == Ranking.Relation.BETTER ? 1 : 0;
                    worse += rel == Ranking.Relation.WORSE ? 1 : 0;
                }
                if (better > worse) {
                    score[i]++;
                    score[j]--;
                } else if (worse > better) {
                    score[j]++;
                    score[i]--;
                }
            }
        }
        TreeMap<Integer, List<Integer>> byScore = new TreeMap<>(java.util.Comparator.reverseOrder());
        for (int i = 0; i < k; i++) {
            byScore.computeIfAbsent(score[i], s -> new ArrayList<>()).add(i);
        }
        return new Ranking(new ArrayList<>(byScore.values()));
    }
}
