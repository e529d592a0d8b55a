package org.align4j.distill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/**
 * The divergence by hand and by finite differences: beta 0 is KL(teacher || student) and beta 1
 * is KL(student || teacher), summed here from the two distributions directly; a mixed beta
 * equals the JSD written with the mixture in probability space; every beta gives 0 (and a zero
 * gradient) when the student equals the teacher; the analytic gradient matches central
 * differences in double precision for several betas and temperatures.
 */
class GkdLossTest {

    static double[] softmax(double[] z, double t) {
        double max = Double.NEGATIVE_INFINITY;
        for (double x : z) {
            max = Math.max(max, x / t);
        }
        double sum = 0;
        double[] p = new double[z.length];
        for (int i = 0; i < z.length; i++) {
            p[i] = Math.exp(z[i] / t - max);
            sum += p[i];
        }
        for (int i = 0; i < z.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    static double kl(double[] p, double[] q) {
        double d = 0;
        for (int i = 0; i < p.length; i++) {
            d += p[i] * Math.log(p[i] / q[i]);
        }
        return d;
    }

    @Test
    void handComputedEndpointsAndMixture() {
        // three tokens: student logits (0, 1, 2), teacher logits (2, 0, -1)
        double[] s = {0, 1, 2};
        double[] t = {2, 0, -1};
        double[] ps = softmax(s, 1);
        double[] pt = softmax(t, 1);
        // p_s = (0.0900306, 0.2447285, 0.6652410), p_t = (0.8437947, 0.1141952, 0.0420101)
        assertEquals(0.0900306, ps[0], 1e-7);
        assertEquals(0.8437947, pt[0], 1e-7);
        assertEquals(kl(pt, ps), GkdLoss.row(s, t, 3, 0.0, 1.0, null, 1), 1e-12, "beta 0: forward KL(teacher||student)");
        assertEquals(kl(ps, pt), GkdLoss.row(s, t, 3, 1.0, 1.0, null, 1), 1e-12, "beta 1: reverse KL(student||teacher)");
        // the forward KL by hand: Σ p_t (log p_t - log p_s) = 1.6767... from the digits above
        double byHand = 0.8437947 * Math.log(0.8437947 / 0.0900306) + 0.1141952 * Math.log(0.1141952 / 0.2447285)
                + 0.0420101 * Math.log(0.0420101 / 0.6652410);
        assertEquals(byHand, GkdLoss.row(s, t, 3, 0.0, 1.0, null, 1), 1e-6);
        for (double beta : new double[] {0.1, 0.5, 0.75}) {
            double[] m = new double[3];
            for (int i = 0; i < 3; i++) {
                m[i] = beta * pt[i] + (1 - beta) * ps[i];
            }
            double want = beta * kl(pt, m) + (1 - beta) * kl(ps, m);
            assertEquals(want, GkdLoss.row(s, t, 3, beta, 1.0, null, 1), 1e-12, "beta " + beta);
        }
        // temperature divides both logits
        double[] s2 = {0, 0.5, 1};
        double[] t2 = {1, 0, -0.5};
        assertEquals(GkdLoss.row(s2, t2, 3, 0.0, 1.0, null, 1), GkdLoss.row(s, t, 3, 0.0, 2.0, null, 1), 1e-12);
    }

    @Test
    void zeroWhenTheStudentIsTheTeacher() {
        SplittableRandom r = new SplittableRandom(3);
        double[] z = new double[17];
        for (int i = 0; i < z.length; i++) {
            z[i] = r.nextGaussian() * 3;
        }
        for (double beta : new double[] {0, 0.3, 0.5, 1}) {
            double[] g = new double[z.length];
            assertEquals(0, GkdLoss.row(z, z.clone(), z.length, beta, 1.5, g, 1), 1e-14, "beta " + beta);
            for (double x : g) {
                assertEquals(0, x, 1e-14, "a minimum: zero gradient at beta " + beta);
            }
        }
    }

    @Test
    void gradientMatchesFiniteDifferences() {
        SplittableRandom r = new SplittableRandom(9);
        int v = 9;
        for (double beta : new double[] {0, 0.2, 0.5, 0.9, 1}) {
            for (double temperature : new double[] {1, 0.7, 2}) {
                double[] s = new double[v];
                double[] t = new double[v];
                for (int i = 0; i < v; i++) {
                    s[i] = r.nextGaussian() * 2;
                    t[i] = r.nextGaussian() * 2;
                }
                double[] g = new double[v];
                double d = GkdLoss.row(s, t, v, beta, temperature, g, 1);
                assertTrue(d > 0);
                for (int i = 0; i < v; i++) {
                    double h = 1e-6;
                    double[] up = s.clone();
                    double[] dn = s.clone();
                    up[i] += h;
                    dn[i] -= h;
                    double fd = (GkdLoss.row(up, t, v, beta, temperature, null, 1)
                            - GkdLoss.row(dn, t, v, beta, temperature, null, 1)) / (2 * h);
                    assertEquals(fd, g[i], 1e-8, "beta " + beta + " T " + temperature + " logit " + i);
                }
            }
        }
    }

    @Test
    void columnsBeyondTheSharedVocabularyAreIgnoredAndGetNoGradient() {
        // student rows of 5 columns, teacher rows of 4, compared over the first 3
        float[] st = {0, 1, 2, 9, 9, /* row 2 masked */ 5, 5, 5, 5, 5};
        float[] te = {2, 0, -1, 9, /* */ 1, 1, 1, 1};
        float[] g = new float[10];
        GkdLoss.Sum sum = GkdLoss.masked(st, 5, te, 4, 3, new float[] {1, 0}, 0.0, 1.0, g, 1);
        assertEquals(1, sum.tokens());
        assertEquals(GkdLoss.row(new double[] {0, 1, 2}, new double[] {2, 0, -1}, 3, 0, 1, null, 1), sum.divergence(),
                1e-6);
        assertEquals(0f, g[3]);
        assertEquals(0f, g[4]);
        for (int i = 5; i < 10; i++) {
            assertEquals(0f, g[i], "masked row");
        }
    }
}
