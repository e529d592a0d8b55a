package org.align4j.cli;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.align4j.core.backend.Backend;
import org.align4j.core.checkpoint.ModelSource;
import org.align4j.reward.RewardScorer;
import org.align4j.train.scale.Cluster;

/**
 * {@code score} as a Spark job: the sequences cut into exactly the batches the single process runs
 * (by length, {@link RewardScorer#lengthOrder}), the batches spread over executors, the scores put
 * back in input order, so the output is the single process's byte for byte.
 */
final class ScoreWork implements Cluster.SliceWork<ScoreWork.Batch, double[]> {

    private static final long serialVersionUID = 1L;
    private static final String MODEL = "model";
    private static final String ADAPTER = "adapter";

    /** One batch: the input positions of its sequences and their tokens, shortest first. */
    record Batch(int[] positions, ArrayList<int[]> sequences) implements Serializable {
    }

    private final int batchSize;

    private ScoreWork(int batchSize) {
        this.batchSize = batchSize;
    }

    static double[] score(Cluster cluster, int partitions, List<int[]> sequences, int batchSize, Path model,
                          Path adapter) {
        int[] order = RewardScorer.lengthOrder(sequences);
        List<Batch> batches = new ArrayList<>();
        for (int start = 0; start < order.length; start += batchSize) {
            int n = Math.min(batchSize, order.length - start);
            int[] positions = new int[n];
            ArrayList<int[]> seqs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                positions[i] = order[start + i];
                seqs.add(sequences.get(positions[i]));
            }
            batches.add(new Batch(positions, seqs));
        }
        Map<String, Path> shipped = new HashMap<>();
        shipped.put(MODEL, model);
        shipped.put(ADAPTER, adapter);
        List<double[]> scores = cluster.mapInOrder(batches, partitions, shipped, new ScoreWork(batchSize));
        double[] out = new double[sequences.size()];
        for (int b = 0; b < batches.size(); b++) {
            int[] positions = batches.get(b).positions();
            for (int i = 0; i < positions.length; i++) {
                out[positions[i]] = scores.get(b)[i];
            }
        }
        return out;
    }

    @Override
    public List<double[]> run(List<Batch> slice, Cluster.Shipped files) throws IOException {
        // a task's own replica (models keep per-forward buffers)
        RewardScorer scorer = RewardScorer.load(new ModelSource(files.path(MODEL), files.path(ADAPTER)),
                Backend.get().kernels());
        List<double[]> out = new ArrayList<>();
        for (Batch b : slice) {
            // already one batch in length order: score() runs it as one forward, as the single process does
            out.add(scorer.score(b.sequences(), batchSize));
        }
        return out;
    }
}
