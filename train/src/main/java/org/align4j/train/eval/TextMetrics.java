package org.align4j.train.eval;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Generation metrics against references, on whitespace tokens:
 * <ul>
 *   <li>exact match after trimming;</li>
 *   <li>token F1 as in SQuAD (lower case, punctuation and the articles a/an/the removed,
 *       multiset overlap);</li>
 *   <li>corpus BLEU-4 (Papineni et al.: clipped n-gram precisions pooled over the corpus,
 *       geometric mean, brevity penalty), no smoothing, case-sensitive;</li>
 *   <li>ROUGE-L F1 (longest common subsequence, beta = 1), lower case, averaged over pairs.</li>
 * </ul>
 */
public final class TextMetrics {

    private TextMetrics() {
    }

    static String[] tokens(String s) {
        String t = s.trim();
        return t.isEmpty() ? new String[0] : t.split("\\s+");
    }

    public static boolean exactMatch(String prediction, String reference) {
        return prediction.trim().equals(reference.trim());
    }

    static List<String> squadTokens(String s) {
        String t = s.toLowerCase(Locale.ROOT).replaceAll("\\p{Punct}", " ").replaceAll("\\b(a|an|the)\\b", " ");
        List<String> out = new ArrayList<>();
        for (String w : tokens(t)) {
            out.add(w);
        }
        return out;
    }

    public static double tokenF1(String prediction, String reference) {
        List<String> p = squadTokens(prediction);
        List<String> r = squadTokens(reference);
        if (p.isEmpty() || r.isEmpty()) {
            return p.equals(r) ? 1.0 : 0.0;
        }
        Map<String, Integer> counts = new HashMap<>();
        r.forEach(w -> counts.merge(w, 1, Integer::sum));
        int common = 0;
        for (String w : p) {
            Integer c = counts.get(w);
            if (c != null && c > 0) {
                common++;
                counts.put(w, c - 1);
            }
        }
        if (common == 0) {
            return 0.0;
        }
        double precision = (double) common / p.size();
        double recall = (double) common / r.size();
        return 2 * precision * recall / (precision + recall);
    }

    /** Corpus BLEU-4 in [0, 1]. */
    public static double corpusBleu(List<String> predictions, List<String> references) {
        long[] matches = new long[4];
        long[] totals = new long[4];
        long predLen = 0;
        long refLen = 0;
        for (int i = 0; i < predictions.size(); i++) {
            String[] p = tokens(predictions.get(i));
            String[] r = tokens(references.get(i));
            predLen += p.length;
            refLen += r.length;
            for (int n = 1; n <= 4; n++) {
                Map<String, Integer> refCounts = ngrams(r, n);
                Map<String, Integer> predCounts = ngrams(p, n);
                for (Map.Entry<String, Integer> e : predCounts.entrySet()) {
                    matches[n - 1] += Math.min(e.getValue(), refCounts.getOrDefault(e.getKey(), 0));
                }
                totals[n - 1] += Math.max(0, p.length - n + 1);
            }
        }
        double logSum = 0;
        for (int n = 0; n < 4; n++) {
            if (matches[n] == 0 || totals[n] == 0) {
                return 0.0;
            }
            logSum += Math.log((double) matches[n] / totals[n]);
        }
        double bp = predLen >= refLen ? 1.0 : Math.exp(1.0 - (double) refLen / Math.max(1, predLen));
        return bp * Math.exp(logSum / 4);
    }

    private static Map<String, Integer> ngrams(String[] w, int n) {
        Map<String, Integer> m = new HashMap<>();
        for (int i = 0; i + n <= w.length; i++) {
            m.merge(String.join("\u0001", Arrays.copyOfRange(w, i, i + n)), 1, Integer::sum);
        }
        return m;
    }

    public static double rougeL(String prediction, String reference) {
        String[] p = tokens(prediction.toLowerCase(Locale.ROOT));
        String[] r = tokens(reference.toLowerCase(Locale.ROOT));
        if (p.length == 0 || r.length == 0) {
            return 0.0;
        }
        int[][] lcs = new int[p.length + 1][r.length + 1];
        for (int i = 1; i <= p.length; i++) {
            for (int j = 1; j <= r.length; j++) {
                lcs[i][j] = p[i - 1].equals(r[j - 1]) ? lcs[i - 1][j - 1] + 1 : Math.max(lcs[i - 1][j], lcs[i][j - 1]);
            }
        }
        int l = lcs[p.length][r.length];
        if (l == 0) {
            return 0.0;
        }
        double precision = (double) l / p.length;
        double recall = (double) l / r.length;
        return 2 * precision * recall / (precision + recall);
    }
}
