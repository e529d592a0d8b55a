package org.align4j.pipeline;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.align4j.core.backend.Backend;
import org.align4j.data.format.Content;
import org.align4j.data.label.LabelTask;
import org.align4j.reward.RewardScorer;
import org.align4j.train.scale.Cluster;

/**
 * The reward model's scores of each labeling task's candidates (what uncertainty selection reads):
 * one forward per task, the same code in one process and on Spark executors.
 */
final class TaskRewards implements Cluster.SliceWork<TaskRewards.Task, double[]> {

    private static final long serialVersionUID = 1L;
    private static final String REWARD_MODEL = "reward_model";

    /** A task's prompt and candidates. */
    record Task(String prompt, ArrayList<String> responses) implements Serializable {
        static Task of(LabelTask t) {
            return new Task(t.prompt(), new ArrayList<>(t.responses()));
        }
    }

    static Map<String, Path> shipped(Path rewardModel) {
        Map<String, Path> m = new HashMap<>();
        m.put(REWARD_MODEL, rewardModel);
        return m;
    }

    @Override
    public List<double[]> run(List<Task> slice, Cluster.Shipped files) throws IOException {
        // a task's own scorer (models keep per-forward buffers)
        return score(RewardScorer.load(files.path(REWARD_MODEL), Backend.get().kernels()), slice);
    }

    /** Each task's candidates' scores, in order. */
    List<double[]> score(RewardScorer scorer, List<Task> tasks) {
        List<double[]> out = new ArrayList<>();
        for (Task t : tasks) {
            List<int[]> seqs = new ArrayList<>();
            Content prompt = new Content.Text(t.prompt());
            t.responses().forEach(r -> seqs.add(scorer.encoder().scoredSequence(prompt, new Content.Text(r))));
            out.add(scorer.score(seqs, seqs.size()));
        }
        return out;
    }
}
