package org.align4j.data.label;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Agreement between annotators, measured on pairwise comparisons: every pair of responses
 * (i, j), i < j, of a task judged by several annotators is one item whose value is
 * better / worse / tied. Flagged and retracted judgments take no part; an annotator's latest
 * judgment of a task counts.
 *
 * <ul>
 *   <li>pairwise agreement: share of items on which two annotators give the same value
 *       (InstructGPT reports 72.6-77.3% between its labellers);</li>
 *   <li>Cohen's kappa per pair of annotators: (p_o - p_e) / (1 - p_e), p_e from each one's
 *       marginal distribution of values;</li>
 *   <li>Krippendorff's alpha (nominal) over everyone: 1 - D_o / D_e from the coincidence matrix;</li>
 *   <li>each annotator's agreement with the majority of the others on an item (items where
 *       the others have a strict majority);</li>
 *   <li>accuracy on gold tasks: share of items matching {@code meta.gold}.</li>
 * </ul>
 */
public final class Agreement {

    /** One pair of annotators. */
    public record PairStats(String a, String b, long items, double agreement, double cohensKappa) {
    }

    /** The report. */
    public record Report(int tasksWithSeveral, List<PairStats> pairs, double overallAgreement,
                         double krippendorffAlpha, Map<String, Double> agreementWithMajority,
                         Map<String, Double> goldAccuracy, Map<String, Long> goldItems) {
    }

    private Agreement() {
    }

    /** The report as {@code label agreement --json} prints it and the web API returns it. */
    public static ObjectNode toJson(Report r) {
        ObjectMapper om = new ObjectMapper();
        ObjectNode n = om.createObjectNode();
        n.put("tasks_with_several_annotators", r.tasksWithSeveral());
        n.put("pairwise_agreement", r.overallAgreement());
        n.put("krippendorff_alpha", r.krippendorffAlpha());
        var ps = n.putArray("pairs");
        for (PairStats p : r.pairs()) {
            ps.addObject().put("a", p.a()).put("b", p.b()).put("items", p.items())
                    .put("agreement", p.agreement()).put("cohens_kappa", p.cohensKappa());
        }
        n.set("agreement_with_majority", om.valueToTree(r.agreementWithMajority()));
        n.set("gold_accuracy", om.valueToTree(r.goldAccuracy()));
        return n;
    }

    /** The latest unflagged judgment per (task, annotator). */
    static Map<String, Map<String, Ranking>> byTask(List<Judgment> effective) {
        Map<String, Map<String, Ranking>> out = new TreeMap<>();
        for (Judgment j : effective) {
            if (j.flagged() || j.ranking() == null) {
                continue;
            }
            out.computeIfAbsent(j.taskId(), t -> new TreeMap<>()).put(j.annotator(), j.ranking());
        }
        return out;
    }

    public static Report compute(List<Judgment> effective, Map<String, LabelTask> tasks) {
        Map<String, Map<String, Ranking>> byTask = byTask(effective);
        TreeSet<String> annotators = new TreeSet<>();
        byTask.values().forEach(m -> annotators.addAll(m.keySet()));
        List<String> names = new ArrayList<>(annotators);
        int n = names.size();
        long[][] same = new long[n][n];
        long[][] total = new long[n][n];
        // per annotator pair, marginal counts of values for kappa: [a][b][annotator side][value]
        long[][][][] marg = new long[n][n][2][3];
        // coincidence matrix for alpha
        double[][] o = new double[3][3];
        Map<String, long[]> withMajority = new TreeMap<>();
        Map<String, long[]> gold = new TreeMap<>();
        int several = 0;
        for (Map.Entry<String, Map<String, Ranking>> e : byTask.entrySet()) {
            Map<String, Ranking> judges = e.getValue();
            LabelTask task = tasks.get(e.getKey());
            int k = judges.values().iterator().next().size();
            List<String> who = new ArrayList<>(judges.keySet());
            if (task != null && task.gold() != null) {
                for (String a : who) {
                    long[] g = gold.computeIfAbsent(a, x -> new long[2]);
                    for (int i = 0; i < k; i++) {
                        for (int j = i + 1; j < k; j++) {
                            g[0] += judges.get(a).relation(i, j) == task.gold().relation(i, j) ? 1 : 0;
                            g[1]++;
                        }
                    }
                }
            }
            if (who.size() < 2) {
                continue;
            }
            several++;
            for (int i = 0; i < k; i++) {
                for (int j = i + 1; j < k; j++) {
                    int[] values = new int[who.size()];
                    for (int w = 0; w < who.size(); w++) {
                        values[w] = judges.get(who.get(w)).relation(i, j).ordinal();
                    }
                    // coincidences: each ordered pair of values from different annotators, weight 1/(m-1)
                    int m = values.length;
                    for (int x = 0; x < m; x++) {
                        for (int y = 0; y < m; y++) {
                            if (x != y) {
                                o[values[x]][values[y]] += 1.0 / (m - 1);
                            }
                        }
                    }
                    for (int x = 0; x < m; x++) {
                        int ax = names.indexOf(who.get(x));
                        for (int y = x + 1; y < m; y++) {
                            int ay = names.indexOf(who.get(y));
                            int lo = Math.min(ax, ay);
                            int hi = Math.max(ax, ay);
                            total[lo][hi]++;
                            same[lo][hi] += values[x] == values[y] ? 1 : 0;
                            marg[lo][hi][0][lo == ax ? values[x] : values[y]]++;
                            marg[lo][hi][1][lo == ax ? values[y] : values[x]]++;
                        }
                        // majority of the others
                        int[] counts = new int[3];
                        for (int y = 0; y < m; y++) {
                            if (y != x) {
                                counts[values[y]]++;
                            }
                        }
                        int best = -1;
                        for (int v = 0; v < 3; v++) {
                            if (counts[v] * 2 > m - 1) {
                                best = v;
                            }
                        }
                        if (best >= 0) {
                            long[] wm = withMajority.computeIfAbsent(who.get(x), z -> new long[2]);
                            wm[0] += values[x] == best ? 1 : 0;
                            wm[1]++;
                        }
                    }
                }
            }
        }
        List<PairStats> pairs = new ArrayList<>();
        long allSame = 0;
        long allTotal = 0;
        for (int a = 0; a < n; a++) {
            for (int b = a + 1; b < n; b++) {
                if (total[a][b] == 0) {
                    continue;
                }
                double po = (double) same[a][b] / total[a][b];
                double pe = 0;
                for (int v = 0; v < 3; v++) {
                    pe += (double) marg[a][b][0][v] / total[a][b] * marg[a][b][1][v] / total[a][b];
                }
                double kappa = pe == 1 ? 1.0 : (po - pe) / (1 - pe);
                pairs.add(new PairStats(names.get(a), names.get(b), total[a][b], po, kappa));
                allSame += same[a][b];
                allTotal += total[a][b];
            }
        }
        return new Report(several, pairs, allTotal == 0 ? Double.NaN : (double) allSame / allTotal, alpha(o),
                ratios(withMajority), ratios(gold), counts(gold));
    }

    /** Krippendorff's alpha for nominal values from a coincidence matrix. */
    static double alpha(double[][] o) {
        int v = o.length;
        double[] nc = new double[v];
        double nTotal = 0;
        for (int c = 0; c < v; c++) {
            for (int k = 0; k < v; k++) {
                nc[c] += o[c][k];
            }
            nTotal += nc[c];
        }
        if (nTotal <= 1) {
            return Double.NaN;
        }
        double observed = 0;
        double expected = 0;
        for (int c = 0; c < v; c++) {
            for (int k = 0; k < v; k++) {
                if (c != k) {
                    observed += o[c][k];
                    expected += nc[c] * nc[k];
                }
            }
        }
        observed /= nTotal;
        expected /= nTotal * (nTotal - 1);
        return expected == 0 ? 1.0 : 1 - observed / expected;
    }

    private static Map<String, Double> ratios(Map<String, long[]> m) {
        Map<String, Double> out = new TreeMap<>();
        m.forEach((k, v) -> out.put(k, v[1] == 0 ? Double.NaN : (double) v[0] / v[1]));
        return out;
    }

    private static Map<String, Long> counts(Map<String, long[]> m) {
        Map<String, Long> out = new HashMap<>();
        m.forEach((k, v) -> out.put(k, v[1]));
        return new TreeMap<>(out);
    }
}
