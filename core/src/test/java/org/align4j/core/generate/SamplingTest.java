package org.align4j.core.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Arrays;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/** The thresholded top-k/top-p filter against sorting the whole vocabulary, as the sampler did before. */
class SamplingTest {

    /** The reference: every index sorted by probability (ties: lower id first), then top-k, then top-p. */
    private static void fullSort(double[] p, int keep, double topP) {
        int v = p.length;
        Integer[] order = new Integer[v];
        for (int j = 0; j < v; j++) {
            order[j] = j;
        }
        Arrays.sort(order, (a, b) -> p[b] != p[a] ? Double.compare(p[b], p[a]) : Integer.compare(a, b));
        if (topP < 1) {
            double total = 0;
            for (int k = 0; k < keep; k++) {
                total += p[order[k]];
            }
            double cum = 0;
            int k = 0;
            while (k < keep) {
                cum += p[order[k]] / total;
                k++;
                if (cum >= topP) {
                    break;
                }
            }
            keep = k;
        }
        for (int k = keep; k < v; k++) {
            p[order[k]] = 0;
        }
    }

    @Test
    void thresholdedNucleusEqualsTheFullSort() {
        SplittableRandom rng = new SplittableRandom(11);
        // {topK (0: none), topP}: nuclei from one token to nearly all, flat and peaked rows, ties
        double[][] settings = {{0, 0.9}, {0, 0.999999}, {0, 0.05}, {40, 1}, {40, 0.9}, {3000, 0.95}, {1, 1}};
        for (int row = 0; row < 60; row++) {
            int v = 1 + rng.nextInt(5000);
            double spread = row % 3 == 0 ? 0.1 : row % 3 == 1 ? 3 : 30; // flat, typical, peaked logits
            double[] p = new double[v];
            float max = Float.NEGATIVE_INFINITY;
            float[] logits = new float[v];
            for (int j = 0; j < v; j++) {
                // every fifth row in whole numbers: many ties, broken by id; a few far below (p == 0)
                logits[j] = (float) (row % 5 == 0 ? Math.floor(rng.nextGaussian() * 4) : rng.nextGaussian() * spread);
                if (j % 97 == 5) {
                    logits[j] -= 2000;
                }
                max = Math.max(max, logits[j]);
            }
            for (int j = 0; j < v; j++) {
                p[j] = Math.exp(logits[j] - (double) max); // as the sampler computes them (temperature 1)
            }
            for (double[] s : settings) {
                int keep = s[0] > 0 ? Math.min((int) s[0], v) : v;
                if (keep == v && s[1] >= 1) {
                    continue; // no filter
                }
                double[] expected = p.clone();
                double[] actual = p.clone();
                fullSort(expected, keep, s[1]);
                Sampling.keepNucleus(actual, logits, keep, s[1]);
                assertArrayEquals(expected, actual, "vocabulary " + v + ", top-k " + keep + ", top-p " + s[1]);
            }
        }
    }
}
