package org.align4j.ppo;

import org.align4j.ppo.algos.PolicyLoss;
import org.align4j.ppo.algos.PolicyLosses;

/**
 * PPO's clipped losses per token and their gradients. Policy:
 * {@code max(-A r, -A clip(r, 1-eps, 1+eps))} with {@code r = exp(logp - logp_old)}; value:
 * {@code 0.5 max((v - R)^2, (v_old + clip(v - v_old, -eps_v, eps_v) - R)^2)}.
 */
public final class PpoLoss {

    /** A token's loss, its gradient with respect to the new log-probability (or value), and whether it was clipped. */
    public record Token(double loss, double grad, boolean clipped, double ratio) {
    }

    private PpoLoss() {
    }

    /** One token of {@link PolicyLosses}' vanilla loss with symmetric bounds. */
    public static Token policy(double logp, double oldLogp, double advantage, double eps) {
        double[] loss = new double[1];
        double[] grad = new double[1];
        PolicyLoss.Clip[] clip = new PolicyLoss.Clip[1];
        PolicyLosses.get("vanilla").compute(new double[] {logp}, new double[] {oldLogp}, new double[] {advantage},
                PolicyLoss.Settings.symmetric(eps), loss, grad, clip);
        return new Token(loss[0], grad[0], clip[0] != PolicyLoss.Clip.NONE, Math.exp(logp - oldLogp));
    }

    public static Token value(double v, double oldV, double ret, double eps) {
        double delta = v - oldV;
        double vc = oldV + Math.max(-eps, Math.min(eps, delta));
        double l1 = (v - ret) * (v - ret);
        double l2 = (vc - ret) * (vc - ret);
        boolean useUnclipped = l1 >= l2;
        double grad = useUnclipped ? v - ret : (Math.abs(delta) < eps ? vc - ret : 0);
        return new Token(0.5 * Math.max(l1, l2), grad, !useUnclipped, 0);
    }

    /** The k3 estimator of KL(policy || reference) at one token and its gradient w.r.t. the policy's log-prob. */
    public static double[] k3(double logp, double refLogp) {
        double d = refLogp - logp;
        return new double[] {Math.exp(d) - d - 1, -Math.exp(d) + 1};
    }
}
