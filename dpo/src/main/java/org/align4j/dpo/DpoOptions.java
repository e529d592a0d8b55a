package org.align4j.dpo;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.train.SettingRange;
import org.align4j.train.StageConfig;
import org.align4j.train.TrainingOptions;

/**
 * DPO's own settings beside the shared {@link TrainingOptions}: the loss, {@code beta}, the
 * label smoothing of cDPO and robust DPO, SimPO's {@code gamma}, ORPO's {@code lambda}, RPO's
 * {@code alpha} (an NLL term on the chosen response added to any loss), and the reference model
 * ({@code --model} when absent).
 *
 * <p>Online DPO ({@code online}, TRL's {@code OnlineDPOTrainer}): the pairs are sampled each step from
 * the policy on {@code prompts} (or the prompt records of {@code --train}), two responses per prompt
 * of at most {@code max_new_tokens} at {@code temperature}, and a judge ({@code judge_model}, a
 * reward model; {@code grader}; or {@code reward_fn}) picks the chosen one. TRL's defaults: 64
 * tokens at 0.9; {@code missing_eos_penalty} is subtracted from the score of a response that never
 * ended, as TRL does.
 */
public record DpoOptions(DpoLossType loss,
                         @SettingRange(min = 0, minExclusive = true) double beta,
                         @SettingRange(min = 0, max = 0.5, maxExclusive = true) double labelSmoothing,
                         @SettingRange(min = 0) double simpoGamma,
                         @SettingRange(min = 0) double orpoLambda,
                         @SettingRange(min = 0) double rpoAlpha, String refModel,
                         boolean online, String prompts, String judgeModel, String grader, String rewardFn,
                         @SettingRange(min = 1, max = 256) int graderConcurrency,
                         @SettingRange(min = 1) int maxNewTokens,
                         @SettingRange(min = 0, minExclusive = true, max = 100) double temperature,
                         @SettingRange(min = 0) Double missingEosPenalty,
                         @SettingRange(min = 0) int sampleEvery) implements StageConfig.Validated {

    public static DpoOptions defaults() {
        return new DpoOptions(DpoLossType.SIGMOID, 0.1, 0, 0.5, 0.1, 0, null, false, null, null, null, null, 4, 64, 0.9,
                null, 0);
    }

    /** Settings only {@code --online} reads (the judge and --prompts have their own checks in {@link #problems()}). */
    private static final List<String> ONLINE_ONLY = List.of("grader_concurrency", "max_new_tokens", "temperature",
            "missing_eos_penalty", "sample_every");

    /** How many judges are given. */
    private int judges() {
        return (judgeModel != null ? 1 : 0) + (grader != null ? 1 : 0) + (rewardFn != null ? 1 : 0);
    }

    @Override
    public List<String> unused(Set<String> given) {
        List<String> p = new ArrayList<>();
        if (!online) {
            for (String k : ONLINE_ONLY) {
                if (given.contains(k)) {
                    p.add("--" + k.replace('_', '-') + " (" + k + ") applies to sampled pairs: give --online, or leave"
                            + " it out");
                }
            }
        }
        return p;
    }

    /**
     * Combinations of these settings with the shared ones that cannot run: offline DPO needs
     * --train; online DPO needs its prompts from exactly one of --prompts and --train.
     */
    public List<String> problems(TrainingOptions training) {
        List<String> p = new ArrayList<>();
        if (!online && training.trainFile() == null) {
            p.add("--train is required (a JSONL file of preference pairs or rankings)");
        }
        if (online && training.trainFile() == null && prompts == null) {
            p.add("--online needs prompts: --prompts FILE (or --train FILE with prompt records)");
        }
        if (online && training.trainFile() != null && prompts != null) {
            p.add("--online reads its prompts from --prompts or --train, not both");
        }
        return p;
    }

    /**
     * DPO's defaults: the shared ones with AdamW at 5e-6, one epoch and left truncation (the
     * response survives; the start of a long prompt is cut). Tiny models learn faster at higher
     * rates: the examples set their own.
     */
    public static ObjectNode defaultSettings() {
        ObjectNode d = StageConfig.defaults(TrainingOptions.defaults(), defaults());
        d.put("lr", 5e-6);
        d.put("epochs", 1);
        d.put("truncation", "left");
        return d;
    }

    public DpoLoss.Settings lossSettings() {
        return new DpoLoss.Settings(loss, beta, labelSmoothing, simpoGamma, orpoLambda, rpoAlpha);
    }

    /** Combinations that cannot run; each value's range is the settings table's ({@link SettingRange}). */
    @Override
    public List<String> problems() {
        List<String> p = new ArrayList<>();
        if (labelSmoothing > 0 && loss != DpoLossType.SIGMOID && loss != DpoLossType.ROBUST) {
            p.add("--label-smoothing applies to --loss sigmoid (cDPO) and robust, not " + loss);
        }
        if (refModel != null && !loss.needsReference()) {
            p.add("--ref-model is not used by --loss " + loss + " (reference-free)");
        }
        if (online && judges() == 0) {
            p.add("--online needs a judge to pick the better sample: one of --judge-model DIR (a reward model),"
                    + " --grader FILE.json and --reward-fn NAME");
        }
        if (judges() > 1) {
            p.add("give one judge: --judge-model, --grader or --reward-fn, not several");
        }
        if (!online && judges() > 0) {
            p.add("--judge-model, --grader and --reward-fn judge sampled pairs: give --online, or leave them out");
        }
        if (!online && prompts != null) {
            p.add("--prompts is read by --online (sampled pairs); offline DPO reads --train: give --online, or leave"
                    + " it out");
        }
        if (online && !loss.needsReference()) {
            p.add("--online trains against the frozen reference (its KL is logged): --loss " + loss
                    + " is reference-free; use sigmoid, robust, ipo or hinge");
        }
        return p;
    }
}
