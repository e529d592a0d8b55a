package org.align4j.sft;

import org.align4j.train.SettingRange;
import org.align4j.train.StageConfig;
import org.align4j.train.TrainingOptions;

/**
 * SFT's own settings beside the shared {@link TrainingOptions}: {@code packing} concatenates
 * text records into full sequences (pretraining mode); {@code show_samples} prints the trained
 * model's greedy answers to the first validation prompts at the end.
 */
public record SftOptions(boolean packing, @SettingRange(min = 0) int showSamples) {

    public static SftOptions defaults() {
        return new SftOptions(true, 0);
    }

    /** SFT's defaults: the shared ones with AdamW at 2e-4. */
    public static com.fasterxml.jackson.databind.node.ObjectNode defaultSettings() {
        return StageConfig.defaults(TrainingOptions.defaults(), defaults());
    }
}
