package org.align4j.kto;

/**
 * The loss of one unpaired example and its gradient with respect to the example's summed
 * log-probability under the policy, as TRL's KTOTrainer computes it. With the log-ratio
 * {@code r = logp - ref} and the batch's KL estimate {@code z0} ({@link #klEstimate}), KTO's
 * loss is {@code w_d (1 - sigmoid(beta (r - z0)))} for a desirable example and
 * {@code w_u (1 - sigmoid(beta (z0 - r)))} for an undesirable one; the batch's loss is their mean
 * over its examples (TRL: {@code losses.nanmean()}). {@code z0} carries no gradient. The implicit
 * reward (TRL's {@code rewards/chosen} and {@code rewards/rejected}) is {@code beta r}.
 *
 * <p>A policy equal to its reference has {@code r = 0} and {@code z0 = 0}, so every example's loss
 * is its weight times {@code 1 - sigmoid(0) = 1/2}: {@code (w_d n_d + w_u n_u) / (2 (n_d + n_u))},
 * which is 0.5 with both weights 1 (APO-zero gives the same).
 */
public final class KtoLoss {

    /** The loss's settings. */
    public record Settings(KtoLossType type, double beta, double desirableWeight, double undesirableWeight) {
    }

    /** An example's weighted loss, {@code dLoss/dlogp}, and its implicit reward {@code beta r}. */
    public record Result(double loss, double dLogp, double reward) {
    }

    private KtoLoss() {
    }

    static double sigmoid(double x) {
        return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
    }

    /**
     * TRL's KL estimate from a batch's mismatched (prompt, completion) pairs: the mean of
     * {@code logp - ref} over them, clamped at 0 (a negative estimate of a KL divergence is noise).
     */
    public static double klEstimate(double[] klLogps, double[] refKlLogps) {
        if (klLogps.length == 0) {
            return 0;
        }
        double s = 0;
        for (int i = 0; i < klLogps.length; i++) {
            s += klLogps[i] - refKlLogps[i];
        }
        return Math.max(0, s / klLogps.length);
    }

    /** {@code kl}: the batch's estimate (ignored by APO-zero). */
    public static Result of(Settings s, boolean desirable, double logp, double ref, double kl) {
        double beta = s.beta();
        double r = logp - ref;
        double z0 = s.type().usesKl() ? kl : 0;
        double w = desirable ? s.desirableWeight() : s.undesirableWeight();
        double loss;
        double d;
        if (desirable) {
            // 1 - sigmoid(z) = sigmoid(-z), exact for large z; d/dr = -beta sigmoid(z) sigmoid(-z)
            double z = beta * (r - z0);
            loss = sigmoid(-z);
            d = -beta * sigmoid(z) * sigmoid(-z);
        } else if (s.type() == KtoLossType.KTO) {
            double z = beta * (z0 - r);
            loss = sigmoid(-z);
            d = beta * sigmoid(z) * sigmoid(-z);
        } else {
            double z = beta * r;
            loss = sigmoid(z);
            d = beta * sigmoid(z) * sigmoid(-z);
        }
        return new Result(w * loss, w * d, beta * r);
    }

    /**
     * TRL's check of the weights against the data's balance (KTO paper, eq. 8): with unequal
     * counts, {@code (w_d n_d) / (w_u n_u)} should lie in {@code [1, 4/3]}. Returns the advice
     * TRL logs (the range for either weight, each rounded to 2 places as TRL does) when neither
     * weight is in its range, else null.
     */
    public static String weightAdvice(double desirableWeight, double undesirableWeight, long desirable,
                                      long undesirable) {
        long nd = Math.max(desirable, 1);
        long nu = Math.max(undesirable, 1);
        if (nd == nu) {
            return null;
        }
        double desLo = round2(nu * undesirableWeight / nd);
        double desHi = round2(nu * undesirableWeight / nd * 1.33);
        double undLo = round2(nd * desirableWeight / nu / 1.33);
        double undHi = round2(nd * desirableWeight / nu);
        boolean desOk = desLo <= desirableWeight && desirableWeight <= desHi;
        boolean undOk = undLo <= undesirableWeight && undesirableWeight <= undHi;
        if (desOk || undOk) {
            return null;
        }
        return String.format(java.util.Locale.ROOT, "%d desirable and %d undesirable examples with --desirable-weight"
                + " %s and --undesirable-weight %s: (desirable_weight * %d) / (undesirable_weight * %d) = %.3f, outside"
                + " [1, 4/3] (KTO paper, eq. 8); use EITHER --desirable-weight in [%s, %s] OR --undesirable-weight in"
                + " [%s, %s] (not both)", desirable, undesirable, fmt(desirableWeight), fmt(undesirableWeight), nd, nu,
                desirableWeight * nd / (undesirableWeight * nu), fmt(desLo), fmt(desHi), fmt(undLo), fmt(undHi));
    }

    /** Python's {@code round(x, 2)}: the nearest multiple of 0.01 to the double's exact value, ties to even. */
    static double round2(double x) {
        return new java.math.BigDecimal(x).setScale(2, java.math.RoundingMode.HALF_EVEN)
                .doubleValue();
    }

    private static String fmt(double x) {
        return x == Math.rint(x) ? Long.toString((long) x) + ".0" : Double.toString(x);
    }
}
