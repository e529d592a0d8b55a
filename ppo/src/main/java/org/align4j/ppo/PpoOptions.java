package org.align4j.ppo;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import com.fasterxml.jackson.databind.node.ObjectNode;

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
                         @SettingRange(min = 1, max = 256) int graderConcurrency)
        implements StageConfig.Validated {

    /** How advantages are estimated: a critic with GAE, or the critic-free RLOO and GRPO. */
    public enum Estimator { GAE, RLOO, GRPO;

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
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
                1.0, 0.95, 4, 1, 0.2, 0.2, 0.1, true, 0, null, true, null, 1.0, 0, 4);
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

    /** RLOO and GRPO have no value model: a value-model setting given with them would be ignored, so it is refused. */
    @Override
    public List<String> unused(Set<String> given) {
        List<String> p = new ArrayList<>();
        if (criticFree()) {
            for (String k : VALUE_MODEL_ONLY) {
                if (given.contains(k)) {
                    p.add("--" + k.replace('_', '-') + " (" + k + ") applies to the value model of --estimator gae;"
                            + " --estimator " + estimator + " has none: leave it out");
                }
            }
        }
        return p;
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
        if (criticFree() && samplesPerPrompt < 2) {
            p.add("--estimator " + estimator + " needs --samples-per-prompt of at least 2, got " + samplesPerPrompt);
        }
        if (criticFree() && valueModel != null) {
            p.add("--value-model is not used by --estimator " + estimator + " (no critic)");
        }
        return p;
    }

}
