package org.align4j.dpo;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.train.SettingRange;
import org.align4j.train.StageConfig;
import org.align4j.train.TrainingOptions;

/**
 * DPO's own settings beside the shared {@link TrainingOptions}: the loss, {@code beta}, the
 * label smoothing of cDPO and robust DPO, SimPO's {@code gamma}, ORPO's {@code lambda}, RPO's
 * {@code alpha} (an NLL term on the chosen response added to any loss), and the reference model
 * ({@code --model} when absent).
 */
public record DpoOptions(DpoLossType loss,
                         @SettingRange(min = 0, minExclusive = true) double beta,
                         @SettingRange(min = 0, max = 0.5, maxExclusive = true) double labelSmoothing,
                         @SettingRange(min = 0) double simpoGamma,
                         @SettingRange(min = 0) double orpoLambda,
                         @SettingRange(min = 0) double rpoAlpha, String refModel) implements StageConfig.Validated {

    public static DpoOptions defaults() {
        return new DpoOptions(DpoLossType.SIGMOID, 0.1, 0, 0.5, 0.1, 0, null);
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
        return p;
    }
}
