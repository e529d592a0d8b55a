package org.align4j.ppo.algos;

import com.fasterxml.jackson.annotation.JsonValue;

/** GRPO's division of the centred rewards (TRL's {@code scale_rewards}). */
public enum ScaleRewards {
    /** By the standard deviation of the prompt's group (GRPO's paper). */
    GROUP("group"),
    /** By the standard deviation of the whole batch's rewards (PPO Lite, TRL's batch). */
    BATCH("batch"),
    /** Not at all: Dr. GRPO, which shows the division biases towards too easy and too hard prompts. */
    NONE("none");

    private final String label;

    ScaleRewards(String label) {
        this.label = label;
    }

    @JsonValue
    @Override
    public String toString() {
        return label;
    }
}
