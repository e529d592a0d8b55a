package org.align4j.kto;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.train.SettingRange;
import org.align4j.train.StageConfig;
import org.align4j.train.TrainingOptions;

/**
 * KTO's own settings beside the shared {@link TrainingOptions}, under TRL's KTOConfig names: the
 * loss ({@code loss_type}), {@code beta}, {@code desirable_weight}, {@code undesirable_weight},
 * and the reference model ({@code --model} when absent).
 */
public record KtoOptions(KtoLossType lossType,
                         @SettingRange(min = 0, minExclusive = true) double beta,
                         @SettingRange(min = 0, minExclusive = true) double desirableWeight,
                         @SettingRange(min = 0, minExclusive = true) double undesirableWeight,
                         String refModel) implements StageConfig.Validated {

    /** TRL's KTOConfig defaults. */
    public static KtoOptions defaults() {
        return new KtoOptions(KtoLossType.KTO, 0.1, 1.0, 1.0, null);
    }

    /**
     * KTO's defaults: the shared ones with TRL's learning rate for KTO (1e-6), one epoch and left
     * truncation (the completion survives; the start of a long prompt is cut). Tiny models learn
     * faster at higher rates: the examples set their own.
     */
    public static ObjectNode defaultSettings() {
        ObjectNode d = StageConfig.defaults(TrainingOptions.defaults(), defaults());
        d.put("lr", 1e-6);
        d.put("epochs", 1);
        d.put("truncation", "left");
        return d;
    }

    public KtoLoss.Settings lossSettings() {
        return new KtoLoss.Settings(lossType, beta, desirableWeight, undesirableWeight);
    }

    @Override
    public List<String> problems() {
        return new ArrayList<>();
    }
}
