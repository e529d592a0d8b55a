package org.align4j.pipeline;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiFunction;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.util.Hashes;
import org.align4j.core.util.Json;
import org.align4j.core.util.UserInputException;
import org.align4j.data.format.Content;
import org.align4j.data.format.DataRecord;
import org.align4j.data.format.RecordJson;
import org.align4j.data.jsonl.JsonlWriter;
import org.align4j.data.label.Agreement;
import org.align4j.data.label.Judgment;
import org.align4j.data.label.JudgmentStore;
import org.align4j.data.label.LabelExport;
import org.align4j.data.label.LabelTask;
import org.align4j.data.label.Ranking;
import org.align4j.reward.RewardScorer;
import org.align4j.reward.fn.RewardFunction;

/**
 * From judgments to training data, the same for simulated annotators and people: tasks split into
 * training and validation by a hash of their id (so the split does not depend on file order), every
 * effective judgment exported as a ranking, and the agreement figures the reward model is measured
 * against: between annotators, and of the annotators with the gold judge.
 */
final class Labels {

    /** What the labels hold. {@code agreement} is null when no task has two annotators. */
    record Summary(int tasks, int trainTasks, int valTasks, int judgments, List<String> annotators,
                   int trainRankings, int valRankings, Double agreement, long agreementComparisons,
                   Double annotatorJudgeAgreement, long judgeComparisons) {
    }

    private Labels() {
    }

    /** The ids of the validation tasks: the {@code fraction} (at least one, when there are two tasks or more) with the smallest hashes. */
    static Set<String> validationIds(List<LabelTask> tasks, double fraction) {
        if (tasks.size() < 2) {
            return Set.of();
        }
        int n = Math.max(1, (int) Math.round(fraction * tasks.size()));
        Set<String> ids = new HashSet<>();
        tasks.stream().map(LabelTask::id).sorted(Comparator.comparingLong(Hashes::fnv1a64)
                .thenComparing(Comparator.naturalOrder())).limit(n).forEach(ids::add);
        return ids;
    }

    /** Annotator A ranks every task, annotator B the validation tasks (for the agreement ceiling). */
    static void simulate(List<LabelTask> tasks, Set<String> validation, RewardFunction judge, double temperature,
                         long seed, Path store) throws IOException {
        new SimulatedAnnotator(judge, temperature, seed, "sim-a").judge(tasks, store);
        new SimulatedAnnotator(judge, temperature, seed, "sim-b").judge(
                tasks.stream().filter(t -> validation.contains(t.id())).toList(), store);
    }

    /** Writes the training and validation rankings and returns the summary; no usable judgment is an error. */
    static Summary export(List<LabelTask> tasks, Path judgments, Set<String> validation, RewardFunction judge,
                          Path trainOut, Path valOut) throws IOException {
        JudgmentStore.Contents contents = new JudgmentStore(judgments).read();
        Map<String, LabelTask> all = new LinkedHashMap<>();
        Map<String, LabelTask> train = new LinkedHashMap<>();
        Map<String, LabelTask> val = new LinkedHashMap<>();
        for (LabelTask t : tasks) {
            all.put(t.id(), t);
            (validation.contains(t.id()) ? val : train).put(t.id(), t);
        }
        List<Judgment> effective = contents.effective().stream().filter(j -> all.containsKey(j.taskId())).toList();
        if (effective.isEmpty()) {
            throw new UserInputException(judgments + ": no judgment of any of the " + tasks.size()
                    + " tasks (are these the judgments of this task file?)");
        }
        List<DataRecord.Ranking> trainRankings = LabelExport.export(contents, train, false, 1).rankings();
        List<DataRecord.Ranking> valRankings = LabelExport.export(contents, val, false, 1).rankings();
        if (trainRankings.isEmpty()) {
            throw new UserInputException(judgments + ": no usable judgment of a training task (flagged, retracted,"
                    + " or only validation tasks judged)");
        }
        write(trainOut, trainRankings);
        write(valOut, valRankings);
        Agreement.Report agreement = Agreement.compute(effective, all);
        long comparisons = agreement.pairs().stream().mapToLong(Agreement.PairStats::items).sum();
        long[] judgeCounts = new long[2];
        for (Judgment j : effective) {
            if (!j.flagged() && j.ranking() != null) {
                countJudgeAgreement(all.get(j.taskId()), j.ranking(), judge, judgeCounts);
            }
        }
        Set<String> annotators = new TreeSet<>();
        effective.forEach(j -> annotators.add(j.annotator()));
        return new Summary(tasks.size(), train.size(), val.size(), effective.size(), List.copyOf(annotators),
                trainRankings.size(), valRankings.size(), comparisons == 0 ? null : agreement.overallAgreement(),
                comparisons, judgeCounts[1] == 0 ? null : (double) judgeCounts[0] / judgeCounts[1], judgeCounts[1]);
    }

    /** Over pairs the annotator ranked strictly and the judge scores differently: [agreeing, all]. */
    private static void countJudgeAgreement(LabelTask task, Ranking r, RewardFunction judge, long[] counts) {
        countJudgeAgreement(task, r::relation, judge, counts);
    }

    private static void countJudgeAgreement(LabelTask task, BiFunction<Integer, Integer, Ranking.Relation> relation,
                                            RewardFunction judge, long[] counts) {
        double[] s = new double[task.k()];
        for (int i = 0; i < task.k(); i++) {
            s[i] = judge.score(task.prompt(), task.responses().get(i), 0);
        }
        for (int i = 0; i < task.k(); i++) {
            for (int j = i + 1; j < task.k(); j++) {
                Ranking.Relation rel = relation.apply(i, j);
                if (rel == Ranking.Relation.TIED || s[i] == s[j]) {
                    continue;
                }
                counts[1]++;
                counts[0] += (rel == Ranking.Relation.BETTER) == (s[i] > s[j]) ? 1 : 0;
            }
        }
    }

    /**
     * The reward model's pairwise accuracy on {@code tasks}: against every effective judgment's strict
     * pairs (ties skipped), and against the judge's strictly ordered pairs.
     */
    static ObjectNode rewardAccuracy(RewardScorer scorer, List<LabelTask> tasks, Path judgments, RewardFunction judge)
            throws IOException {
        Map<String, double[]> rewards = new LinkedHashMap<>();
        long[] judgeCounts = new long[2];
        for (LabelTask t : tasks) {
            List<int[]> seqs = new ArrayList<>();
            Content prompt = new Content.Text(t.prompt());
            t.responses().forEach(r -> seqs.add(scorer.encoder().scoredSequence(prompt, new Content.Text(r))));
            double[] r = scorer.score(seqs, seqs.size());
            rewards.put(t.id(), r);
            countJudgeAgreement(t, (a, b) -> r[a] > r[b] ? Ranking.Relation.BETTER
                    : r[a] < r[b] ? Ranking.Relation.WORSE : Ranking.Relation.TIED, judge, judgeCounts);
        }
        long agree = 0;
        long all = 0;
        for (Judgment j : new JudgmentStore(judgments).read().effective()) {
            double[] r = rewards.get(j.taskId());
            if (r == null || j.flagged() || j.ranking() == null) {
                continue;
            }
            for (int a = 0; a < r.length; a++) {
                for (int b = a + 1; b < r.length; b++) {
                    Ranking.Relation rel = j.ranking().relation(a, b);
                    if (rel != Ranking.Relation.TIED) {
                        all++;
                        agree += (rel == Ranking.Relation.BETTER) == (r[a] > r[b]) ? 1 : 0;
                    }
                }
            }
        }
        ObjectNode o = Json.MAPPER.createObjectNode().put("validation_tasks", tasks.size());
        o.set("label_accuracy", all == 0 ? NullNode.getInstance() : DoubleNode.valueOf((double) agree / all));
        o.put("label_comparisons", all);
        o.set("judge_accuracy", judgeCounts[1] == 0 ? NullNode.getInstance()
                : DoubleNode.valueOf((double) judgeCounts[0] / judgeCounts[1]));
        o.put("judge_comparisons", judgeCounts[1]);
        return o;
    }

    private static void write(Path file, List<DataRecord.Ranking> rankings) throws IOException {
        List<JsonNode> rows = new ArrayList<>();
        rankings.forEach(r -> rows.add(RecordJson.toJson(r)));
        JsonlWriter.write(file, rows);
    }
}
