package org.align4j.core.optim;

import org.align4j.core.util.UserInputException;
import java.util.Locale;

/**
 * Learning rate by optimizer step (0-based): linear warmup {@code lr * (step+1) / warmup} for the
 * first {@code warmupSteps}, then constant, cosine or linear decay to {@code lr * minRatio} at
 * {@code totalSteps}.
 */
public record LrSchedule(Kind kind, double lr, int warmupSteps, int totalSteps, double minRatio) {

    /** Shape after the warmup. */
    public enum Kind {
        CONSTANT, COSINE, LINEAR;

        /** As users type it (help, messages, config files). */
        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static Kind parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new UserInputException("unknown schedule '" + s + "' (constant, cosine, linear)");
            }
        }
    }

    public LrSchedule {
        if (lr < 0 || warmupSteps < 0 || minRatio < 0 || minRatio > 1) {
            throw new UserInputException("schedule needs lr >= 0, warmup >= 0, 0 <= min_ratio <= 1");
        }
    }

    public static LrSchedule constant(double lr) {
        return new LrSchedule(Kind.CONSTANT, lr, 0, 0, 1);
    }

    public double at(long step) {
        if (step < warmupSteps) {
            return lr * (step + 1) / warmupSteps;
        }
        if (kind == Kind.CONSTANT) {
            return lr;
        }
        double span = Math.max(1, totalSteps - warmupSteps);
        double progress = Math.min(1.0, (step - warmupSteps) / span);
        double min = lr * minRatio;
        return kind == Kind.COSINE
                ? min + (lr - min) * 0.5 * (1 + Math.cos(Math.PI * progress))
                : lr + (min - lr) * progress;
    }
}
