package org.align4j.ppo;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import com.fasterxml.jackson.annotation.JsonValue;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.ppo.algos.LossAggregation;
import org.align4j.ppo.algos.LossType;
import org.align4j.ppo.algos.PolicyLoss;
import org.align4j.ppo.algos.PolicyLossType;
import org.align4j.ppo.algos.ScaleRewards;
import org.align4j.train.SettingRange;
import org.align4j.train.StageConfig;
import org.align4j.train.TrainingOptions;

/**
 * PPO's own settings beside the shared {@link TrainingOptions} (names as TRL's where it has them).
 * A step is one iteration: {@code batch_size} prompts, {@code samples_per_prompt} responses each,
 * scoring, then {@code ppo_epochs} passes over {@code mini_batches} updates.
 *
 * <p>PPO-ptx: {@code ptx_coef} multiplies the mean next-token loss per token of a batch of
 * {@code ptx_data} text (as many sequences as the update's responses) added to every update;
 * the policy loss is also a mean per token, so {@code ptx_coef = 1} weighs a token of pretraining
 * text like a token of the policy's own responses. InstructGPT's 27.8 (DeepSpeed-Chat's default)
 * scaled a per-sequence loss; ours defaults to 1.
 *
 * <p>The loss matrix (issue 22): {@code loss_type} is a preset of TRL's GRPO losses that sets the
 * components after it where they are null (not given); {@link #losses()} resolves them. With every
 * component at its default, PPO, RLOO and GRPO compute exactly what they always did.
 */
public record PpoOptions(String prompts, String rewardModel, String rewardFn, String grader, Estimator estimator,
                         @SettingRange(min = 1, max = 64) int samplesPerPrompt, String valueModel,
                         @SettingRange(min = 1) int maxNewTokens,
                         @SettingRange(min = 0, minExclusive = true, max = 100) double temperature,
                         KlEstimator klEstimator,
                         @SettingRange(min = 0) double klCoef,
                         @SettingRange(min = 0, minExclusive = true) Double targetKl,
                         @SettingRange(min = 0, minExclusive = true) double klHorizon,
                         @SettingRange(min = 0, max = 1) double gamma,
                         @SettingRange(min = 0, max = 1) double lam,
                         @SettingRange(min = 1) int ppoEpochs,
                         @SettingRange(min = 1) int miniBatches,
                         @SettingRange(min = 0, minExclusive = true, max = 1, maxExclusive = true) double cliprange,
                         @SettingRange(min = 0, minExclusive = true) double cliprangeValue,
                         @SettingRange(min = 0) double vfCoef, boolean normalizeReward,
                         @SettingRange(min = 0) double rewardClip,
                         @SettingRange Double missingEosPenalty,
                         boolean whitenAdvantages, String ptxData,
                         @SettingRange(min = 0) double ptxCoef,
                         @SettingRange(min = 0) int sampleEvery,
                         @SettingRange(min = 1, max = 256) int graderConcurrency,
                         LossType lossType, LossAggregation lossAggMode, PolicyLossType policyLoss,
                         @SettingRange(min = 0, minExclusive = true, max = 1) Double cliprangeLow,
                         @SettingRange(min = 0, minExclusive = true, max = 100) Double cliprangeHigh,
                         @SettingRange(min = 1, minExclusive = true) Double clipRatioC,
                         @SettingRange(min = 0, minExclusive = true) double sapoTemperaturePos,
                         @SettingRange(min = 0, minExclusive = true) double sapoTemperatureNeg,
                         ScaleRewards scaleRewards, Boolean dynamicSampling,
                         @SettingRange(min = 0, max = 100) int maxResampleRounds,
                         @SettingRange(min = 0) Integer overlongBufferLen,
                         @SettingRange(min = 0) double overlongPenaltyFactor,
                         boolean maskTruncated,
                         @SettingRange(min = 0) double entropyCoef)
        implements StageConfig.Validated {

    /**
     * How advantages are estimated (the functions in {@link org.align4j.ppo.algos.AdvantageEstimators}):
     * a critic with GAE, or critic-free.
     */
    public enum Estimator { GAE("gae"), RLOO("rloo"), GRPO("grpo"), REINFORCE_PP("reinforce++"),
        REINFORCE_PP_BASELINE("reinforce++-baseline");

        private final String label;

        Estimator(String label) {
            this.label = label;
        }

        /** Whether it compares the K responses of a prompt (and so needs K >= 2). */
        public boolean grouped() {
            return this == RLOO || this == GRPO || this == REINFORCE_PP_BASELINE;
        }

        @JsonValue
        @Override
        public String toString() {
            return label;
        }
    }

    /** KL estimator per token: k1 = logp - logp_ref, k3 = exp(ref - logp) - (ref - logp) - 1. */
    public enum KlEstimator { K1, K3;

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public static PpoOptions defaults() {
        return new PpoOptions(null, null, null, null, Estimator.GAE, 1, null, 48, 1.0, KlEstimator.K1, 0.05, null, 10000,
                1.0, 0.95, 4, 1, 0.2, 0.2, 0.1, true, 0, null, true, null, 1.0, 0, 4,
                null, null, null, null, null, null, 1.0, 1.05, null, null, 3, null, 1.0, false, 0.0);
    }

    /** PPO's defaults: the shared ones with AdamW at 1e-5, 8 prompts per iteration, left truncation of prompts. */
    public static ObjectNode defaultSettings() {
        ObjectNode d = StageConfig.defaults(TrainingOptions.defaults(), defaults());
        d.put("lr", 1e-5);
        d.put("epochs", 1);
        d.put("truncation", "left");
        return d;
    }

    public boolean criticFree() {
        return estimator != Estimator.GAE;
    }

    /** Settings only GAE's value model reads (--value-model has its own check in {@link #problems()}). */
    private static final List<String> VALUE_MODEL_ONLY = List.of("gamma", "lam", "cliprange_value", "vf_coef",
            "whiten_advantages");

    /**
     * A setting given where nothing reads it is refused rather than ignored: the value model's with a
     * critic-free estimator (gamma but with REINFORCE++), GRPO's scaling with another estimator,
     * a component's parameters without the component.
     */
    @Override
    public List<String> unused(Set<String> given) {
        List<String> p = new ArrayList<>();
        if (criticFree()) {
            for (String k : VALUE_MODEL_ONLY) {
                // REINFORCE++ discounts its returns with gamma too
                if (given.contains(k) && !(k.equals("gamma") && estimator == Estimator.REINFORCE_PP)) {
                    p.add("--" + k.replace('_', '-') + " (" + k + ") applies to the value model of --estimator gae;"
                            + " --estimator " + estimator + " has none: leave it out");
                }
            }
        }
        Losses l = losses();
        unless(p, given, "scale_rewards", estimator == Estimator.GRPO, "is GRPO's (--estimator grpo)");
        unless(p, given, "sapo_temperature_pos", l.policyLoss() == PolicyLossType.SAPO, "applies to --policy-loss sapo");
        unless(p, given, "sapo_temperature_neg", l.policyLoss() == PolicyLossType.SAPO, "applies to --policy-loss sapo");
        unless(p, given, "cliprange_low", l.policyLoss() != PolicyLossType.SAPO, "has no use with --policy-loss sapo");
        unless(p, given, "cliprange_high", l.policyLoss() != PolicyLossType.SAPO, "has no use with --policy-loss sapo");
        unless(p, given, "max_resample_rounds", l.dynamicSampling(), "bounds --dynamic-sampling, which is off");
        unless(p, given, "overlong_penalty_factor", l.overlongBufferLen() > 0,
                "scales the overlong punishment, which is off (--overlong-buffer-len 0)");
        return p;
    }

    private static void unless(List<String> p, Set<String> given, String key, boolean used, String why) {
        if (given.contains(key) && !used) {
            p.add("--" + key.replace('_', '-') + " (" + key + ") " + why + ": leave it out");
        }
    }

    /** The loss matrix with the preset of {@code loss_type} and the defaults filled in. */
    public record Losses(LossAggregation aggregation, PolicyLossType policyLoss, PolicyLoss.Settings clip,
                         ScaleRewards scaleRewards, boolean dynamicSampling, int overlongBufferLen) {
    }

    /**
     * Each component: as given, else as {@code loss_type} sets it, else its default (token-mean, or
     * seq-mean-token-mean for GRPO as before; vanilla; both bounds at {@code cliprange}; group; off).
     */
    public Losses losses() {
        LossType t = lossType;
        LossAggregation agg = lossAggMode != null ? lossAggMode : t != null ? t.aggregation
                : estimator == Estimator.GRPO ? LossAggregation.SEQ_MEAN_TOKEN_MEAN : LossAggregation.TOKEN_MEAN;
        PolicyLossType pl = policyLoss != null ? policyLoss : t != null ? t.policyLoss : PolicyLossType.VANILLA;
        double low = cliprangeLow != null ? cliprangeLow : t != null && t.cliprangeLow != null ? t.cliprangeLow
                : cliprange;
        double high = cliprangeHigh != null ? cliprangeHigh : t != null && t.cliprangeHigh != null ? t.cliprangeHigh
                : cliprange;
        PolicyLoss.Settings clip = new PolicyLoss.Settings(low, high, clipRatioC != null ? clipRatioC : Double.NaN,
                sapoTemperaturePos, sapoTemperatureNeg);
        ScaleRewards scale = scaleRewards != null ? scaleRewards : t != null ? t.scaleRewards : ScaleRewards.GROUP;
        boolean dynamic = dynamicSampling != null ? dynamicSampling : t != null && t.dynamicSampling;
        int overlong = overlongBufferLen != null ? overlongBufferLen
                : t != null ? (int) Math.round(t.overlongBufferFraction * maxNewTokens) : 0;
        return new Losses(agg, pl, clip, scale, dynamic, overlong);
    }

    @Override
    public List<String> problems() {
        List<String> p = new ArrayList<>();
        if (prompts == null) {
            p.add("--prompts is required (JSONL of prompts, or any SFT or preference file)");
        }
        if ((rewardModel != null ? 1 : 0) + (rewardFn != null ? 1 : 0) + (grader != null ? 1 : 0) != 1) {
            p.add("give exactly one of --reward-model DIR, --reward-fn NAME and --grader FILE.json");
        }
        if (estimator.grouped() && samplesPerPrompt < 2) {
            p.add("--estimator " + estimator + " needs --samples-per-prompt of at least 2, got " + samplesPerPrompt);
        }
        if (criticFree() && valueModel != null) {
            p.add("--value-model is not used by --estimator " + estimator + " (no critic)");
        }
        lossProblems(p);
        return p;
    }

    /** Combinations of the loss matrix that mean nothing. */
    private void lossProblems(List<String> p) {
        Losses l = losses();
        String preset = lossType == null ? "" : " (set by --loss-type " + lossType + ")";
        if (lossType != null && !criticFree()) {
            p.add("--loss-type " + lossType + " is a preset of TRL's GRPO losses: give it with a critic-free"
                    + " --estimator (grpo, rloo, reinforce++, reinforce++-baseline), not gae; for PPO with a value"
                    + " model set --loss-agg-mode and --policy-loss directly");
        }
        if (clipRatioC != null && l.policyLoss() != PolicyLossType.VANILLA) {
            p.add("--clip-ratio-c (dual clip) bounds --policy-loss vanilla only, not " + l.policyLoss());
        }
        if (l.dynamicSampling() && !estimator.grouped()) {
            p.add("--dynamic-sampling" + (dynamicSampling == null ? preset : "") + " drops groups of equal scores:"
                    + " it needs a grouped --estimator (grpo, rloo, reinforce++-baseline), not " + estimator);
        }
        if (l.overlongBufferLen() >= maxNewTokens) {
            p.add("--overlong-buffer-len " + l.overlongBufferLen() + (overlongBufferLen == null ? preset : "")
                    + " must be below --max-new-tokens " + maxNewTokens);
        }
        if (l.policyLoss() != PolicyLossType.CISPO && l.clip().low() >= 1) {
            p.add("--cliprange-low " + l.clip().low() + (cliprangeLow == null ? preset : "") + " leaves no lower"
                    + " bound on the ratio; below 1 for --policy-loss " + l.policyLoss());
        }
    }

}
