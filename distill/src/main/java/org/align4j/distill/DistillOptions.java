package org.align4j.distill;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.train.SettingRange;
import org.align4j.train.StageConfig;
import org.align4j.train.TrainingOptions;

/**
 * Distillation's own settings beside the shared {@link TrainingOptions}, under TRL's GKDConfig
 * names: the frozen {@code teacher}; {@code beta} of the generalized JSD (0 forward KL, 1 reverse
 * KL); {@code lmbda}, the fraction of batches whose completions the student samples itself;
 * {@code temperature} and {@code max_new_tokens} of that sampling; {@code seq_kd}, the teacher
 * sampling the other batches' completions (sequence-level KD) instead of the data's; and
 * {@code loss_temperature}, the softmax temperature of the divergence (TRL's
 * {@code generalized_jsd_loss(temperature=)}, which GKDTrainer leaves at 1).
 */
public record DistillOptions(String teacher,
                             @SettingRange(min = 0, max = 1) double beta,
                             @SettingRange(min = 0, max = 1) double lmbda,
                             @SettingRange(min = 0, minExclusive = true, max = 100) double temperature,
                             @SettingRange(min = 1) int maxNewTokens,
                             boolean seqKd,
                             @SettingRange(min = 0, minExclusive = true, max = 100) double lossTemperature)
        implements StageConfig.Validated {

    /** TRL's GKDConfig defaults. */
    public static DistillOptions defaults() {
        return new DistillOptions(null, 0.5, 0.5, 0.9, 128, false, 1.0);
    }

    /** The shared defaults with this stage's; left truncation keeps the completion of a long example. */
    public static ObjectNode defaultSettings() {
        ObjectNode d = StageConfig.defaults(TrainingOptions.defaults(), defaults());
        d.put("truncation", "left");
        return d;
    }

    @Override
    public List<String> problems() {
        List<String> p = new ArrayList<>();
        if (teacher == null) {
            p.add("--teacher is required (the teacher's model directory)");
        }
        return p;
    }
}
