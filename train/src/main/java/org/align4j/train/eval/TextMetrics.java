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
 *   <li>ROUGE-L F1 (longest common subsequence, beta = 1), lower case, averaged over pairs;</li>
 *   <li>for one pair (the graders' text similarity): ROUGE-N F1 (clipped n-gram overlap, lower
 *       case), GLEU (Wu et al. 2016, as NLTK's {@code sentence_gleu}: matching 1- to 4-grams over
 *       the larger of the two n-gram totals, case-sensitive), METEOR (Banerjee and Lavie 2005,
 *       exact-match stage only: no stemming or synonyms, lower case; Fmean = 10PR / (R + 9P),
 *       penalty 0.5 (chunks / matches)^3, the alignment taking the longest common runs first so
 *       that chunks are few), and the fuzzy ratio of two strings (rapidfuzz's {@code fuzz.ratio}
 *       / 100: 2 x the longest common subsequence of characters over the summed lengths).</li>
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

    /** BLEU-4 of one prediction against one reference, as {@link #corpusBleu} of a corpus of one. */
    public static double sentenceBleu(String prediction, String reference) {
        return corpusBleu(List.of(prediction), List.of(reference));
    }

    /** ROUGE-N F1 of one pair (lower case whitespace tokens, clipped n-gram counts); 0 when either has no n-gram. */
    public static double rougeN(String prediction, String reference, int n) {
        String[] p = tokens(prediction.toLowerCase(Locale.ROOT));
        String[] r = tokens(reference.toLowerCase(Locale.ROOT));
        int pTotal = Math.max(0, p.length - n + 1);
        int rTotal = Math.max(0, r.length - n + 1);
        if (pTotal == 0 || rTotal == 0) {
            return 0.0;
        }
        int overlap = overlap(ngrams(p, n), ngrams(r, n));
        if (overlap == 0) {
            return 0.0;
        }
        double precision = (double) overlap / pTotal;
        double recall = (double) overlap / rTotal;
        return 2 * precision * recall / (precision + recall);
    }

    /** Google-BLEU of one pair: matching 1- to 4-grams over max(prediction's, reference's n-gram count). */
    public static double gleu(String prediction, String reference) {
        String[] p = tokens(prediction);
        String[] r = tokens(reference);
        long matches = 0;
        long pTotal = 0;
        long rTotal = 0;
        for (int n = 1; n <= 4; n++) {
            matches += overlap(ngrams(p, n), ngrams(r, n));
            pTotal += Math.max(0, p.length - n + 1);
            rTotal += Math.max(0, r.length - n + 1);
        }
        long all = Math.max(pTotal, rTotal);
        return all == 0 ? 0.0 : (double) matches / all;
    }

    private static int overlap(Map<String, Integer> a, Map<String, Integer> b) {
        int o = 0;
        for (Map.Entry<String, Integer> e : a.entrySet()) {
            o += Math.min(e.getValue(), b.getOrDefault(e.getKey(), 0));
        }
        return o;
    }

    /** METEOR of one pair with exact matches only (see the class comment). */
    public static double meteor(String prediction, String reference) {
        String[] p = tokens(prediction.toLowerCase(Locale.ROOT));
        String[] r = tokens(reference.toLowerCase(Locale.ROOT));
        boolean[] pUsed = new boolean[p.length];
        boolean[] rUsed = new boolean[r.length];
        int matches = 0;
        int chunks = 0;
        // each pass aligns the longest run of consecutive equal, unaligned words (the earliest on ties)
        while (true) {
            int best = 0;
            int bi = -1;
            int bj = -1;
            for (int i = 0; i < p.length; i++) {
                for (int j = 0; j < r.length; j++) {
                    int k = 0;
                    while (i + k < p.length && j + k < r.length && !pUsed[i + k] && !rUsed[j + k]
                            && p[i + k].equals(r[j + k])) {
                        k++;
                    }
                    if (k > best) {
                        best = k;
                        bi = i;
                        bj = j;
                    }
                }
            }
            if (best == 0) {
                break;
            }
            for (int k = 0; k < best; k++) {
                pUsed[bi + k] = true;
                rUsed[bj + k] = true;
            }
            matches += best;
            chunks++;
        }
        if (matches == 0) {
            return 0.0;
        }
        double precision = (double) matches / p.length;
        double recall = (double) matches / r.length;
        double fmean = 10 * precision * recall / (recall + 9 * precision);
        double penalty = 0.5 * Math.pow((double) chunks / matches, 3);
        return fmean * (1 - penalty);
    }

    /** 2 x LCS(characters) / (|a| + |b|): 1 for equal strings (two empty ones too), 0 for nothing in common. */
    public static double fuzzyRatio(String a, String b) {
        if (a.isEmpty() && b.isEmpty()) {
            return 1.0;
        }
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                cur[j] = a.charAt(i - 1) == b.charAt(j - 1) ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return 2.0 * prev[b.length()] / (a.length() + b.length());
    }
}
