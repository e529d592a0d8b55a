package org.align4j.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.align4j.data.label.LabelTask;
import org.align4j.data.label.Ranking;
import org.align4j.reward.fn.RewardFunction;
import org.junit.jupiter.api.Test;

/** Simulated annotators against the judge (temperature 0) and against Bradley-Terry's closed form. */
class SimulatedAnnotatorTest {

    /** A judge that reads the score from a table. */
    static RewardFunction table(Map<String, Double> scores) {
        return new RewardFunction() {
            public double score(String prompt, String response, int tokens) {
                return scores.get(response);
            }

            public String describe() {
                return "table";
            }
        };
    }

    static LabelTask task(String id, String... responses) {
        return new LabelTask(id, "p", List.of(responses), null, null);
    }

    @Test
    void atTemperatureZeroItRanksByTheJudgeWithTies() {
        SimulatedAnnotator a = new SimulatedAnnotator(table(Map.of("a", 0.5, "b", 2.0, "c", 0.5, "d", -1.0)), 0, 1,
                "gold");
        assertEquals(new Ranking(List.of(List.of(1), List.of(0, 2), List.of(3))), a.rank(task("t", "a", "b", "c", "d")));
    }

    @Test
    void twoNoisyAnnotatorsAgreeAsBradleyTerryPredicts() {
        // each annotator prefers the better of two responses d apart with p = sigmoid(d / T); two agree with p^2 + (1-p)^2
        double t = 0.5;
        double d = 0.5;
        SimulatedAnnotator x = new SimulatedAnnotator(table(Map.of("hi", d, "lo", 0.0)), t, 1, "x");
        SimulatedAnnotator y = new SimulatedAnnotator(table(Map.of("hi", d, "lo", 0.0)), t, 2, "y");
        int n = 20_000;
        int correct = 0;
        int agree = 0;
        for (int i = 0; i < n; i++) {
            LabelTask task = task("t" + i, "hi", "lo");
            boolean xr = x.rank(task).groups().get(0).get(0) == 0;
            boolean yr = y.rank(task).groups().get(0).get(0) == 0;
            correct += xr ? 1 : 0;
            agree += xr == yr ? 1 : 0;
        }
        double p = 1 / (1 + Math.exp(-d / t));
        assertEquals(p, (double) correct / n, 0.015, "P(prefers the better) = sigmoid(d/T)");
        assertEquals(p * p + (1 - p) * (1 - p), (double) agree / n, 0.015, "pairwise agreement of two annotators");
        // the same annotator, seed and task always give the same ranking
        assertEquals(x.rank(task("same", "hi", "lo")), x.rank(task("same", "hi", "lo")));
    }
}
