package org.align4j.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.align4j.core.util.UserInputException;
import org.align4j.data.label.JudgmentStore;
import org.align4j.data.label.LabelTask;
import org.align4j.data.label.Ranking;
import org.align4j.reward.fn.RewardFunction;

/** The split, the export and the agreement figures against hand-computed values. */
class LabelsTest {

    @TempDir
    Path tmp;

    private static LabelTask task(String id, String... responses) {
        return new LabelTask(id, "p " + id, List.of(responses), null, null);
    }

    private static Ranking ranking(int... order) {
        List<List<Integer>> groups = new ArrayList<>();
        for (int i : order) {
            groups.add(List.of(i));
        }
        return new Ranking(groups);
    }

    @Test
    void validationSplitDependsOnIdsOnly() {
        List<LabelTask> tasks = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            tasks.add(task("t" + i, "a", "b"));
        }
        Set<String> val = Labels.validationIds(tasks, 0.15);
        assertEquals(3, val.size(), "15% of 20");
        List<LabelTask> shuffled = new ArrayList<>(tasks);
        Collections.shuffle(shuffled, new java.util.Random(3));
        assertEquals(val, Labels.validationIds(shuffled, 0.15), "the order of the file does not matter");
        assertEquals(1, Labels.validationIds(tasks.subList(0, 2), 0.15).size(), "at least one");
        assertEquals(0, Labels.validationIds(tasks.subList(0, 1), 0.15).size(), "none from a single task");
    }

    @Test
    void exportsRankingsAndCountsAgreement() throws Exception {
        // judge: 1 when the response says "happy"
        RewardFunction judge = RewardFunction.parse("regex:happy");
        List<LabelTask> tasks = List.of(task("x", "happy", "sad", "happy day"), task("y", "happy", "sad"));
        Path store = tmp.resolve("j.jsonl");
        JudgmentStore s = new JudgmentStore(store);
        // on x, ann ranks 0 > 1 > 2: (0,1) agrees with the judge, (0,2) is a judge tie, (1,2) disagrees
        s.append("x", "ann", ranking(0, 1, 2), List.of(), "", 0, List.of(0, 1, 2));
        // bob on x: 2 > 0 > 1; against ann: (0,1) same, (0,2) opposite, (1,2) opposite -> 1 of 3
        // against the judge: (0,1) agrees, (1,2) agrees -> 2 of 2
        s.append("x", "bob", ranking(2, 0, 1), List.of(), "", 0, List.of(0, 1, 2));
        // on y, ann ranks 0 > 1: agrees with the judge
        s.append("y", "ann", ranking(0, 1), List.of(), "", 0, List.of(0, 1));
        Labels.Summary sum = Labels.export(tasks, store, Set.of("x"), judge, tmp.resolve("train.jsonl"),
                tmp.resolve("val.jsonl"));
        assertEquals(1, sum.trainRankings());
        assertEquals(2, sum.valRankings(), "both annotators' rankings of the validation task");
        assertEquals(List.of("ann", "bob"), sum.annotators());
        assertEquals(1.0 / 3, sum.agreement(), 1e-12);
        assertEquals(3, sum.agreementComparisons());
        // judge comparisons: ann on x 1 of 2, bob on x 2 of 2, ann on y 1 of 1 -> 4 of 5
        assertEquals(0.8, sum.annotatorJudgeAgreement(), 1e-12);
        assertEquals(5, sum.judgeComparisons());
        assertEquals(1, Files.readAllLines(tmp.resolve("train.jsonl")).size());
    }

    @Test
    void judgmentsOfOtherTasksAreRefused() throws Exception {
        Path store = tmp.resolve("other.jsonl");
        new JudgmentStore(store).append("zzz", "ann", ranking(0, 1), List.of(), "", 0, List.of(0, 1));
        UserInputException e = assertThrows(UserInputException.class, () -> Labels.export(
                List.of(task("x", "a", "b")), store, Set.of(), RewardFunction.parse("sentiment"),
                tmp.resolve("t.jsonl"), tmp.resolve("v.jsonl")));
        assertTrue(e.getMessage().contains("no judgment of any of the 1 tasks"), e.getMessage());
    }

    @Test
    void oneAnnotatorHasNoAgreementFigure() throws Exception {
        Path store = tmp.resolve("one.jsonl");
        new JudgmentStore(store).append("x", "ann", ranking(1, 0), List.of(), "", 0, List.of(0, 1));
        Labels.Summary sum = Labels.export(List.of(task("x", "a", "b")), store, Set.of(),
                RewardFunction.parse("sentiment"), tmp.resolve("t.jsonl"), tmp.resolve("v.jsonl"));
        assertNull(sum.agreement());
    }
}
