package org.align4j.reward;

import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.train.SettingRange;
import org.align4j.train.StageConfig;
import org.align4j.train.TrainingOptions;

/**
 * The reward model's own setting beside the shared {@link TrainingOptions}:
 * {@code center_rewards_coefficient} adds {@code c · (r_chosen + r_rejected)^2} to each pair's
 * loss (TRL's name), keeping rewards centred on zero; 0 leaves it out.
 */
public record RewardOptions(@SettingRange(min = 0) double centerRewardsCoefficient) {

    public static RewardOptions defaults() {
        return new RewardOptions(0);
    }

    /**
     * The reward stage's defaults: the shared ones with AdamW at 5e-5 and one epoch (reward models
     * over-fit preference data quickly, as InstructGPT reports), left truncation (the score is
     * read at the end of the response), and an evaluation every tenth of the run.
     */
    public static ObjectNode defaultSettings() {
        ObjectNode d = StageConfig.defaults(TrainingOptions.defaults(), defaults());
        d.put("lr", 5e-5);
        d.put("epochs", 1);
        d.put("truncation", "left");
        return d;
    }
}
