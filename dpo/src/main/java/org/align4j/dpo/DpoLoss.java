package org.align4j.dpo;

/**
 * The loss of one preference pair and its gradient with respect to the summed log-probabilities
 * of the chosen and rejected responses, for every {@link DpoLossType}. With
 * {@code D = (logp_c - ref_c) - (logp_r - ref_r)} and per-token averages {@code a = logp / n}:
 * see {@link DpoLossType} for each formula; {@code rpo_alpha} adds {@code alpha} times the
 * chosen response's per-token NLL to any of them. Implicit rewards (TRL's
 * {@code rewards/chosen}) are {@code beta (logp - ref)}, or {@code beta a} for the
 * reference-free losses.
 */
public final class DpoLoss {

    /** The loss's settings. */
    public record Settings(DpoLossType type, double beta, double labelSmoothing, double simpoGamma, double orpoLambda,
                           double rpoAlpha) {
    }

    /** A pair's loss, {@code dLoss/dlogp_c}, {@code dLoss/dlogp_r}, and its implicit rewards. */
    public record Pair(double loss, double dChosen, double dRejected, double rewardChosen, double rewardRejected) {
    }

    private DpoLoss() {
    }

    static double softplus(double x) {
        return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
    }

    static double sigmoid(double x) {
        return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
    }

    /** {@code log(p / (1 - p))} for {@code p = exp(a)}, a < 0. */
    static double logOdds(double a) {
        return a - Math.log(-Math.expm1(a));
    }

    /** {@code d logOdds / da = 1 / (1 - exp(a))}. */
    static double logOddsSlope(double a) {
        return -1 / Math.expm1(a);
    }

    /**
     * {@code lc, lr}: summed log-probabilities of the chosen and rejected responses under the
     * policy; {@code rc, rr}: under the reference (ignored by SimPO and ORPO); {@code nc, nr}:
     * their token counts.
     */
    public static Pair pair(Settings s, double lc, double lr, double rc, double rr, double nc, double nr) {
        double beta = s.beta();
        double e = s.labelSmoothing();
        double loss;
        double dc;
        double dr;
        double rewardC;
        double rewardR;
        switch (s.type()) {
            case SIGMOID, ROBUST, HINGE -> {
                double d = (lc - rc) - (lr - rr);
                double bd = beta * d;
                double dd;
                if (s.type() == DpoLossType.SIGMOID) {
                    loss = (1 - e) * softplus(-bd) + e * softplus(bd);
                    dd = beta * (-(1 - e) * sigmoid(-bd) + e * sigmoid(bd));
                } else if (s.type() == DpoLossType.ROBUST) {
                    loss = ((1 - e) * softplus(-bd) - e * softplus(bd)) / (1 - 2 * e);
                    dd = beta * (-(1 - e) * sigmoid(-bd) - e * sigmoid(bd)) / (1 - 2 * e);
                } else {
                    loss = Math.max(0, 1 - bd);
                    dd = 1 - bd > 0 ? -beta : 0;
                }
                dc = dd;
                dr = -dd;
                rewardC = beta * (lc - rc);
                rewardR = beta * (lr - rr);
            }
            case IPO -> {
                double d = (lc - rc) / nc - (lr - rr) / nr;
                double gap = d - 1 / (2 * beta);
                loss = gap * gap;
                dc = 2 * gap / nc;
                dr = -2 * gap / nr;
                rewardC = beta * (lc - rc);
                rewardR = beta * (lr - rr);
            }
            case SIMPO -> {
                double z = beta * (lc / nc - lr / nr) - s.simpoGamma();
                loss = softplus(-z);
                double dz = -sigmoid(-z);
                dc = dz * beta / nc;
                dr = -dz * beta / nr;
                rewardC = beta * lc / nc;
                rewardR = beta * lr / nr;
            }
            case ORPO -> {
                // a probability of exactly 1 has infinite odds: keep the average just below 0
                double ac = Math.min(lc / nc, -1e-9);
                double ar = Math.min(lr / nr, -1e-9);
                double z = logOdds(ac) - logOdds(ar);
                loss = -ac + s.orpoLambda() * softplus(-z);
                double dz = -sigmoid(-z) * s.orpoLambda();
                dc = (-1 + dz * logOddsSlope(ac)) / nc;
                dr = -dz * logOddsSlope(ar) / nr;
                rewardC = beta * lc / nc;
                rewardR = beta * lr / nr;
            }
            default -> throw new IllegalStateException(s.type().name());
        }
        if (s.rpoAlpha() > 0) {
            loss += -s.rpoAlpha() * lc / nc;
            dc += -s.rpoAlpha() / nc;
        }
        return new Pair(loss, dc, dr, rewardC, rewardR);
    }
}
