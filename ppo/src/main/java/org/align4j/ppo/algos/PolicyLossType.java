package org.align4j.ppo.algos;

import com.fasterxml.jackson.annotation.JsonValue;

/** The registered policy losses as a setting (see {@link PolicyLosses} for each formula). */
public enum PolicyLossType {
    VANILLA("vanilla"), GSPO("gspo"), CISPO("cispo"), SAPO("sapo");

    private final String label;

    PolicyLossType(String label) {
        this.label = label;
    }

    public PolicyLoss function() {
        return PolicyLosses.get(label);
    }

    @JsonValue
    @Override
    public String toString() {
        return label;
    }
}
