package org.align4j.train.eval;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * Metrics for completions that are labels from a small set (e.g. review stars): accuracy,
 * macro-F1 over the reference labels, the confusion matrix, and, when every label is an
 * integer (ordinal), off-by-one accuracy and binary accuracy (at most 3 against more than 3).
 * A prediction outside the label set counts as wrong (its own column, "other").
 */
public record ClassificationMetrics(List<String> labels, double accuracy, double macroF1, long[][] confusion,
                                    Double offByOneAccuracy, Double binaryAccuracy) {

    /** Labels: references look like labels when there are few distinct ones. */
    public static boolean looksLikeLabels(List<String> references) {
        TreeSet<String> distinct = new TreeSet<>();
        for (String r : references) {
            distinct.add(r.trim());
        }
        return distinct.size() <= 20 && distinct.size() < references.size() && distinct.stream().allMatch(
                l -> l.length() <= 30);
    }

    public static ClassificationMetrics of(List<String> predictions, List<String> references) {
        List<String> labels = new ArrayList<>(new TreeSet<>(references.stream().map(String::trim).toList()));
        int k = labels.size();
        long[][] confusion = new long[k][k + 1]; // [actual][predicted], column k = other
        long correct = 0;
        boolean ordinal = labels.stream().allMatch(l -> l.matches("-?\\d+"));
        long offByOne = 0;
        long binary = 0;
        for (int i = 0; i < references.size(); i++) {
            String ref = references.get(i).trim();
            String pred = predictions.get(i).trim();
            int a = labels.indexOf(ref);
            int p = labels.indexOf(pred);
            confusion[a][p < 0 ? k : p]++;
            if (a == p) {
                correct++;
            }
            if (ordinal && pred.matches("-?\\d+")) {
                int rv = Integer.parseInt(ref);
                int pv = Integer.parseInt(pred);
                offByOne += Math.abs(rv - pv) <= 1 ? 1 : 0;
                binary += (rv <= 3) == (pv <= 3) ? 1 : 0;
            }
        }
        double f1Sum = 0;
        for (int c = 0; c < k; c++) {
            long tp = confusion[c][c];
            long fp = 0;
            long fn = 0;
            for (int o = 0; o < k; o++) {
                if (o != c) {
                    fp += confusion[o][c];
                }
            }
            for (int o = 0; o <= k; o++) {
                if (o != c) {
                    fn += confusion[c][o];
                }
            }
            double precision = tp + fp == 0 ? 0 : (double) tp / (tp + fp);
            double recall = tp + fn == 0 ? 0 : (double) tp / (tp + fn);
            f1Sum += precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
        }
        int n = references.size();
        return new ClassificationMetrics(labels, (double) correct / n, f1Sum / k, confusion,
                ordinal ? (double) offByOne / n : null, ordinal ? (double) binary / n : null);
    }
}
