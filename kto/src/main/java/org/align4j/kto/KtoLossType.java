package org.align4j.kto;

import java.util.Locale;

/** TRL's {@code loss_type} of KTOTrainer. */
public enum KtoLossType {
    /**
     * KTO (Ethayarajh et al. 2024, eq. 7): desirable {@code 1 - sigmoid(beta (r - z0))}, undesirable
     * {@code 1 - sigmoid(beta (z0 - r))}, with {@code r} the log-ratio to the reference and {@code z0}
     * the batch's KL estimate.
     */
    KTO,
    /**
     * APO-zero, unpaired (D'Oosterlinck et al. 2024): desirable {@code 1 - sigmoid(beta r)},
     * undesirable {@code sigmoid(beta r)}; no KL estimate, so no mismatched sequences are run.
     */
    APO_ZERO_UNPAIRED;

    public boolean usesKl() {
        return this == KTO;
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
