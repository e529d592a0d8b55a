package org.align4j.train;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.stream.IntStream;

/**
 * Metrics of one step (or one evaluation) gathered across micro-batches: weighted means, where
 * each micro-batch adds {@code Σ value} and the weight it stands for (trained tokens, prompts,
 * pairs), and totals. Means over several micro-batches are therefore exact, whatever their sizes.
 */
public final class Metrics implements Serializable {

    private static final long serialVersionUID = 1L;

    private final Map<String, double[]> means = new LinkedHashMap<>();
    private final Map<String, Double> totals = new LinkedHashMap<>();

    /** Adds {@code sum} (a sum of per-item values) standing for {@code weight} items to the mean of {@code name}. */
    public void mean(String name, double sum, double weight) {
        double[] a = means.computeIfAbsent(name, k -> new double[2]);
        a[0] += sum;
        a[1] += weight;
    }

    /** Adds {@code value} to the total of {@code name}. */
    public void total(String name, double value) {
        totals.merge(name, value, Double::sum);
    }

    /**
     * Adds another gathering's sums, weights and totals, as if its micro-batches had been added here
     * (a data-parallel step merges its executors' metrics in slice order).
     */
    public void addAll(Metrics other) {
        other.means.forEach((k, a) -> mean(k, a[0], a[1]));
        other.totals.forEach(this::total);
    }

    /** Means (NaN where no weight was added) followed by totals, in the order first added. */
    public Map<String, Double> values() {
        Map<String, Double> out = new LinkedHashMap<>();
        means.forEach((k, a) -> out.put(k, a[1] == 0 ? Double.NaN : a[0] / a[1]));
        out.putAll(totals);
        return out;
    }

    /**
     * An evaluation in file order: {@code each} adds the metrics of every run of {@code batchSize}
     * consecutive indices below {@code n} (the last run shorter); the values of all of them.
     */
    public static Map<String, Double> inBatches(int n, int batchSize, BiConsumer<int[], Metrics> each) {
        Metrics m = new Metrics();
        for (int start = 0; start < n; start += batchSize) {
            each.accept(IntStream.range(start, Math.min(n, start + batchSize)).toArray(), m);
        }
        return new LinkedHashMap<>(m.values());
    }
}
