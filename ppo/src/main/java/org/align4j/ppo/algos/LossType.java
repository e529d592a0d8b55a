package org.align4j.ppo.algos;

import com.fasterxml.jackson.annotation.JsonValue;

/**
 * TRL's GRPO {@code loss_type} (and GSPO's recipe) as presets of the loss matrix: each sets the
 * aggregation, the policy loss, the clip bounds, GRPO's reward scaling and DAPO's sampling and
 * shaping; a setting given explicitly overrides its preset. A null field leaves the setting's own default.
 */
public enum LossType {
    /** GRPO's paper: mean per response, then over responses (TRL's grpo). */
    GRPO("grpo", LossAggregation.SEQ_MEAN_TOKEN_MEAN, PolicyLossType.VANILLA, null, null, ScaleRewards.GROUP, false,
            0),
    /** Token mean over the (local) batch (TRL's bnpo). */
    BNPO("bnpo", LossAggregation.TOKEN_MEAN, PolicyLossType.VANILLA, null, null, ScaleRewards.GROUP, false, 0),
    /** Dr. GRPO (Liu et al. 2025): a constant normaliser and no division by the std (TRL's dr_grpo). */
    DR_GRPO("dr_grpo", LossAggregation.SEQ_MEAN_TOKEN_SUM_NORM, PolicyLossType.VANILLA, null, null, ScaleRewards.NONE,
            false, 0),
    /**
     * DAPO (Yu et al. 2025): token mean, clip-higher (0.2, 0.28), dynamic sampling and the soft
     * overlong punishment with a buffer of a fifth of --max-new-tokens (the paper's 4096 of 20480).
     */
    DAPO("dapo", LossAggregation.TOKEN_MEAN, PolicyLossType.VANILLA, 0.2, 0.28, ScaleRewards.GROUP, true, 0.2),
    /** CISPO (MiniMax-M1): detached clipped ratio as weight, token mean; ratio capped at 5 (TRL's epsilon_high 5), no lower bound. */
    CISPO("cispo", LossAggregation.TOKEN_MEAN, PolicyLossType.CISPO, 1.0, 4.0, ScaleRewards.GROUP, false, 0),
    /** GSPO (Zheng et al. 2025): the sequence ratio, mean per response, the paper's bounds (3e-4, 4e-4). */
    GSPO("gspo", LossAggregation.SEQ_MEAN_TOKEN_MEAN, PolicyLossType.GSPO, 3e-4, 4e-4, ScaleRewards.GROUP, false, 0),
    /** SAPO (Qwen 2025): the soft gate, mean per response (TRL's sapo). */
    SAPO("sapo", LossAggregation.SEQ_MEAN_TOKEN_MEAN, PolicyLossType.SAPO, null, null, ScaleRewards.GROUP, false, 0);

    private final String label;
    public final LossAggregation aggregation;
    public final PolicyLossType policyLoss;
    public final Double cliprangeLow;
    public final Double cliprangeHigh;
    public final ScaleRewards scaleRewards;
    public final boolean dynamicSampling;
    /** The overlong buffer as a fraction of --max-new-tokens; 0: no shaping. */
    public final double overlongBufferFraction;

    LossType(String label, LossAggregation aggregation, PolicyLossType policyLoss, Double cliprangeLow,
             Double cliprangeHigh, ScaleRewards scaleRewards, boolean dynamicSampling, double overlongBufferFraction) {
        this.label = label;
        this.aggregation = aggregation;
        this.policyLoss = policyLoss;
        this.cliprangeLow = cliprangeLow;
        this.cliprangeHigh = cliprangeHigh;
        this.scaleRewards = scaleRewards;
        this.dynamicSampling = dynamicSampling;
        this.overlongBufferFraction = overlongBufferFraction;
    }

    @JsonValue
    @Override
    public String toString() {
        return label;
    }
}
