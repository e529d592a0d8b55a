package org.align4j.data.batch;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The order of examples in batches, epoch by epoch, from one seed: a fresh shuffle each epoch,
 * optionally grouped by length (examples sorted by length inside windows of 50 batches, then
 * the batches shuffled) to reduce padding. Epoch {@code e}'s batches depend only on the seed
 * and {@code e}, so a checkpoint that records (epoch, batch index) resumes exactly.
 */
public final class BatchPlan {

    private static final int GROUP_WINDOW_BATCHES = 50;

    private final int[] lengths;
    private final int batchSize;
    private final long seed;
    private final boolean groupByLength;

    public BatchPlan(int[] lengths, int batchSize, long seed, boolean groupByLength) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be at least 1");
        }
        if (lengths.length == 0) {
            throw new IllegalArgumentException("no examples to batch");
        }
        this.lengths = lengths.clone();
        this.batchSize = batchSize;
        this.seed = seed;
        this.groupByLength = groupByLength;
    }

    public int batchesPerEpoch() {
        return (lengths.length + batchSize - 1) / batchSize;
    }

    public int examples() {
        return lengths.length;
    }

    /** The batches of one epoch as example indices; the last batch may be smaller. */
    public List<int[]> epoch(int epoch) {
        SplittableRandom rng = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + epoch);
        int n = lengths.length;
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        shuffle(order, rng);
        List<int[]> batches = new ArrayList<>();
        if (groupByLength) {
            int window = GROUP_WINDOW_BATCHES * batchSize;
            for (int w = 0; w < n; w += window) {
                int end = Math.min(n, w + window);
                Integer[] part = new Integer[end - w];
                for (int i = w; i < end; i++) {
                    part[i - w] = order[i];
                }
                java.util.Arrays.sort(part, (a, b) -> lengths[b] != lengths[a] ? Integer.compare(lengths[b], lengths[a])
                        : Integer.compare(a, b));
                for (int i = 0; i < part.length; i += batchSize) {
                    int[] batch = new int[Math.min(batchSize, part.length - i)];
                    for (int k = 0; k < batch.length; k++) {
                        batch[k] = part[i + k];
                    }
                    batches.add(batch);
                }
            }
            // shuffle the batch order so that lengths do not come in sorted runs
            for (int i = batches.size() - 1; i > 0; i--) {
                int j = rng.nextInt(i + 1);
                int[] tmp = batches.get(i);
                batches.set(i, batches.get(j));
                batches.set(j, tmp);
            }
        } else {
            for (int i = 0; i < n; i += batchSize) {
                batches.add(java.util.Arrays.copyOfRange(order, i, Math.min(n, i + batchSize)));
            }
        }
        return batches;
    }

    private static void shuffle(int[] a, SplittableRandom rng) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }
}
