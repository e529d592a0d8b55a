package org.align4j.data.label;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.align4j.data.format.Content;
import org.align4j.data.format.DataRecord;
import org.align4j.data.prepare.UnpairedRecords;

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
            flagged += j.flagged() && !j.binary() ? 1 : 0;
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

    /**
     * Judgments as KTO's unpaired records ({@code label export --to kto}): each ranking (as
     * {@link #export} gives them, per annotator or majority) unpaired top vs bottom, and each
     * binary judgment's thumb on its response; with {@code majority} one record per judged
     * response by majority vote (an even split gives none). Flagged and retracted judgments are
     * left out; a response (or task) judged by fewer than {@code minAnnotators} is left out.
     */
    public record KtoResult(List<DataRecord.Unpaired> records, int fromRankings, int fromThumbs, int flaggedExcluded,
                            int retractedExcluded, int belowMinAnnotators, int splitVotes) {
    }

    public static KtoResult exportKto(JudgmentStore.Contents contents, Map<String, LabelTask> tasks, boolean majority,
                                      int minAnnotators) {
        Result ranked = export(contents, tasks, majority, minAnnotators);
        List<DataRecord.Unpaired> out = new ArrayList<>();
        for (DataRecord.Ranking r : ranked.rankings()) {
            out.addAll(UnpairedRecords.of(r));
        }
        int fromRankings = out.size();
        int flagged = ranked.flaggedExcluded();
        // (task, response) -> annotator -> thumb, the annotator's latest
        Map<String, Map<Integer, Map<String, Boolean>>> thumbs = new TreeMap<>();
        for (Judgment j : contents.effective()) {
            if (!j.binary() || !tasks.containsKey(j.taskId())) {
                continue;
            }
            if (j.flagged() || j.label() == null) {
                flagged++;
                continue;
            }
            thumbs.computeIfAbsent(j.taskId(), t -> new TreeMap<>()).computeIfAbsent(j.response(),
                    r -> new TreeMap<>()).put(j.annotator(), j.label());
        }
        int below = ranked.tasksBelowMinAnnotators();
        int split = 0;
        for (Map.Entry<String, Map<Integer, Map<String, Boolean>>> t : thumbs.entrySet()) {
            LabelTask task = tasks.get(t.getKey());
            Content prompt = new Content.Text(task.prompt());
            for (Map.Entry<Integer, Map<String, Boolean>> r : t.getValue().entrySet()) {
                Content response = new Content.Text(task.responses().get(r.getKey()));
                Map<String, Boolean> votes = r.getValue();
                if (votes.size() < minAnnotators) {
                    below++;
                    continue;
                }
                if (majority) {
                    long up = votes.values().stream().filter(v -> v).count();
                    long down = votes.size() - up;
                    if (up == down) {
                        split++;
                    } else {
                        out.add(new DataRecord.Unpaired(prompt, response, up > down));
                    }
                } else {
                    votes.values().forEach(v -> out.add(new DataRecord.Unpaired(prompt, response, v)));
                }
            }
        }
        return new KtoResult(out, fromRankings, out.size() - fromRankings, flagged, ranked.retractedExcluded(), below,
                split);
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
