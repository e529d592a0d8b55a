package org.align4j.pipeline;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

import org.align4j.core.util.Hashes;
import org.align4j.data.label.Judgment;
import org.align4j.data.label.JudgmentStore;
import org.align4j.data.label.LabelTask;
import org.align4j.data.label.Ranking;
import org.align4j.reward.fn.RewardFunction;

/**
 * A simulated annotator: ranks a task's responses by the judge's score plus Gumbel noise of scale
 * {@code temperature} (a Plackett-Luce annotator, Bradley-Terry on each pair: it prefers the
 * response with the higher score with probability {@code sigmoid(difference / temperature)}); at
 * temperature 0 it ranks by the judge alone, equal scores tied. Its noise depends only on its seed,
 * its name and the task, so a run is reproducible, and its judgments go to the labeling CLI's
 * store exactly as a person's do.
 */
public final class SimulatedAnnotator {

    private final RewardFunction judge;
    private final double temperature;
    private final long seed;
    private final String name;

    public SimulatedAnnotator(RewardFunction judge, double temperature, long seed, String name) {
        if (!(temperature >= 0)) {
            throw new IllegalArgumentException("temperature must be >= 0");
        }
        this.judge = judge;
        this.temperature = temperature;
        this.seed = seed;
        this.name = name;
    }

    public String name() {
        return name;
    }

    public Ranking rank(LabelTask task) {
        int k = task.k();
        double[] noisy = new double[k];
        SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L ^ Hashes.fnv1a64(name + "\u0000"
                + task.id()));
        for (int i = 0; i < k; i++) {
            double u = r.nextDouble();
            double gumbel = -Math.log(-Math.log(Math.max(u, Double.MIN_VALUE)));
            noisy[i] = judge.score(task.prompt(), task.responses().get(i), 0) + (temperature > 0 ? temperature * gumbel
                    : 0);
        }
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < k; i++) {
            order.add(i);
        }
        order.sort(Comparator.comparingDouble((Integer i) -> -noisy[i]).thenComparingInt(i -> i));
        List<List<Integer>> groups = new ArrayList<>();
        for (int i : order) {
            if (!groups.isEmpty() && noisy[groups.get(groups.size() - 1).get(0)] == noisy[i]) {
                groups.get(groups.size() - 1).add(i);
            } else {
                groups.add(new ArrayList<>(List.of(i)));
            }
        }
        return new Ranking(groups);
    }

    /** Judges every task this annotator has not judged yet in {@code store}; returns how many it judged now. */
    public int judge(List<LabelTask> tasks, Path store) throws IOException {
        JudgmentStore s = new JudgmentStore(store);
        Set<String> done = new HashSet<>();
        for (Judgment j : s.read().effective(name)) {
            if (!j.binary()) { // a thumb on one response does not rank the task
                done.add(j.taskId());
            }
        }
        int n = 0;
        for (LabelTask t : tasks) {
            if (done.add(t.id())) {
                List<Integer> display = new ArrayList<>();
                for (int i = 0; i < t.k(); i++) {
                    display.add(i);
                }
                s.append(t.id(), name, rank(t), List.of(), "", 0, display);
                n++;
            }
        }
        return n;
    }
}
