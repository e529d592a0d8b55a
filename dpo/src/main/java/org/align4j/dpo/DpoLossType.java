package org.align4j.dpo;

import java.util.Locale;

/** The preference losses of the DPO family; SimPO and ORPO need no reference model. */
public enum DpoLossType {
    /** DPO: -log sigmoid(beta D); with label smoothing e, cDPO: -(1-e) log sigmoid(beta D) - e log sigmoid(-beta D). */
    SIGMOID,
    /** Robust DPO (Chowdhury et al., TRL's "robust"): (-(1-e) log sigmoid(beta D) + e log sigmoid(-beta D)) / (1-2e). */
    ROBUST,
    /** IPO: (D' - 1/(2 beta))^2 with per-token average log-ratios. */
    IPO,
    /** SLiC's hinge: relu(1 - beta D). */
    HINGE,
    /** SimPO: -log sigmoid(beta (avg logp_c - avg logp_r) - gamma), no reference. */
    SIMPO,
    /** ORPO: NLL of the chosen response + lambda * -log sigmoid(log odds_c - log odds_r), no reference. */
    ORPO;

    public boolean needsReference() {
        return this != SIMPO && this != ORPO;
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
