package org.align4j.distill;

import java.util.stream.IntStream;

/**
 * GKD's generalized Jensen-Shannon divergence (Agarwal et al. 2024, eq. 1) per token, exactly as
 * TRL's {@code GKDTrainer.generalized_jsd_loss}: with {@code S = log_softmax(z_student / T)} and
 * {@code Q = log_softmax(z_teacher / T)},
 * <ul>
 * <li>{@code beta = 0}: the forward KL, {@code KL(teacher || student) = Σ p_Q (Q - S)};</li>
 * <li>{@code beta = 1}: the reverse KL, {@code KL(student || teacher) = Σ p_S (S - Q)};</li>
 * <li>otherwise, with the mixture {@code M = log((1 - beta) p_S + beta p_Q)} computed in log space
 * as a log-sum-exp of {@code S + log1p(-beta)} and {@code Q + log(beta)}:
 * {@code beta KL(teacher || M) + (1 - beta) KL(student || M)}.</li>
 * </ul>
 * (TRL's convention: the endpoints are special-cased; the mixed formula itself tends to 0 there.)
 * The gradient with respect to the student's logits is analytic: with {@code g = dD/dS},
 * {@code dD/dz = (g - p_S Σ g) / T}, where {@code g = -p_Q} (forward KL),
 * {@code g = p_S (S - Q + 1)} (reverse KL), {@code g = (1 - beta) p_S (S - M)} (mixture).
 */
public final class GkdLoss {

    private GkdLoss() {
    }

    /**
     * The divergence of one token: student logits {@code s} and teacher logits {@code t}, over
     * their first {@code v} entries. With {@code grad} non-null, writes {@code scale · dD/ds} into
     * its first {@code v} entries.
     */
    public static double row(double[] s, double[] t, int v, double beta, double temperature, double[] grad,
                             double scale) {
        double[] ls = logSoftmax(s, 0, v, temperature);
        double[] lt = logSoftmax(t, 0, v, temperature);
        return fromLogProbs(ls, lt, beta, temperature, grad, 0, scale);
    }

    /** {@code log_softmax(z[off .. off+v) / T)} in double precision. */
    static double[] logSoftmax(double[] z, int off, int v, double temperature) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < v; j++) {
            max = Math.max(max, z[off + j] / temperature);
        }
        double sum = 0;
        for (int j = 0; j < v; j++) {
            sum += Math.exp(z[off + j] / temperature - max);
        }
        double lse = max + Math.log(sum);
        double[] out = new double[v];
        for (int j = 0; j < v; j++) {
            out[j] = z[off + j] / temperature - lse;
        }
        return out;
    }

    private static double fromLogProbs(double[] ls, double[] lt, double beta, double temperature, double[] grad,
                                       int gradOff, double scale) {
        int v = ls.length;
        double d = 0;
        double[] g = grad == null ? null : new double[v];
        double gSum = 0;
        if (beta == 0) {
            for (int j = 0; j < v; j++) {
                double pt = Math.exp(lt[j]);
                if (pt > 0) {
                    d += pt * (lt[j] - ls[j]);
                }
                if (g != null) {
                    g[j] = -pt;
                    gSum += g[j];
                }
            }
        } else if (beta == 1) {
            for (int j = 0; j < v; j++) {
                double ps = Math.exp(ls[j]);
                if (ps > 0) {
                    d += ps * (ls[j] - lt[j]);
                }
                if (g != null) {
                    g[j] = ps * (ls[j] - lt[j] + 1);
                    gSum += g[j];
                }
            }
        } else {
            double a = Math.log1p(-beta);
            double b = Math.log(beta);
            for (int j = 0; j < v; j++) {
                double x = ls[j] + a;
                double y = lt[j] + b;
                double hi = Math.max(x, y);
                double m = hi + Math.log1p(Math.exp(Math.min(x, y) - hi));
                double ps = Math.exp(ls[j]);
                double pt = Math.exp(lt[j]);
                d += (pt > 0 ? beta * pt * (lt[j] - m) : 0) + (ps > 0 ? (1 - beta) * ps * (ls[j] - m) : 0);
                if (g != null) {
                    g[j] = (1 - beta) * ps * (ls[j] - m);
                    gSum += g[j];
                }
            }
        }
        if (g != null) {
            for (int j = 0; j < v; j++) {
                grad[gradOff + j] = scale * (g[j] - Math.exp(ls[j]) * gSum) / temperature;
            }
        }
        return d;
    }

    /** What {@link #masked} returns: the summed divergence of the masked rows and their count. */
    public record Sum(double divergence, int tokens) {
    }

    /**
     * The summed divergence over the rows where {@code mask != 0} of row-major logits (student
     * {@code [rows, vs]}, teacher {@code [rows, vt]}, compared over their first {@code v} columns).
     * With {@code grad} ({@code [rows, vs]}) non-null, writes {@code scale · dD/dz_student} into the
     * masked rows' first {@code v} columns and 0 everywhere else. TRL's {@code batchmean} divides
     * this sum by the masked token count (of the whole step under accumulation).
     */
    public static Sum masked(float[] student, int vs, float[] teacher, int vt, int v, float[] mask, double beta,
                             double temperature, float[] grad, double scale) {
        int rows = mask.length;
        double[] per = new double[rows];
        // rows are independent; the sum is taken in row order afterwards, so threads change nothing
        IntStream.range(0, rows).parallel().forEach(r -> {
            if (mask[r] == 0f) {
                if (grad != null) {
                    java.util.Arrays.fill(grad, r * vs, (r + 1) * vs, 0f);
                }
                return;
            }
            double[] s = new double[v];
            double[] t = new double[v];
            for (int j = 0; j < v; j++) {
                s[j] = student[r * vs + j];
                t[j] = teacher[r * vt + j];
            }
            double[] gr = grad == null ? null : new double[v];
            per[r] = row(s, t, v, beta, temperature, gr, scale);
            if (grad != null) {
                for (int j = 0; j < vs; j++) {
                    grad[r * vs + j] = j < v ? (float) gr[j] : 0f;
                }
            }
        });
        double sum = 0;
        int n = 0;
        for (int r = 0; r < rows; r++) {
            if (mask[r] != 0f) {
                sum += per[r];
                n++;
            }
        }
        return new Sum(sum, n);
    }

    /** {@code log softmax(z)[target]} of row {@code r} of row-major logits {@code [rows, stride]} over {@code v} columns. */
    public static double logProbAt(float[] z, int stride, int r, int v, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < v; j++) {
            max = Math.max(max, z[r * stride + j]);
        }
        double sum = 0;
        for (int j = 0; j < v; j++) {
            sum += Math.exp(z[r * stride + j] - max);
        }
        return z[r * stride + target] - max - Math.log(sum);
    }
}
