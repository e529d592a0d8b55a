package org.align4j.train;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The values a numeric setting accepts, declared on the settings record's component so that one
 * table ({@link SettingRanges}) checks the command-line flag and the key of every config file
 * alike. Every numeric component has one (tests walk them all); with no bounds, every finite value
 * is valid (seeds). Whole-number components refuse fractions; no setting takes NaN or infinity.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.RECORD_COMPONENT, ElementType.FIELD, ElementType.PARAMETER, ElementType.METHOD})
public @interface SettingRange {
    double min() default Double.NEGATIVE_INFINITY;

    double max() default Double.POSITIVE_INFINITY;

    /** Whether {@link #min()} itself is refused (a learning rate must be above 0). */
    boolean minExclusive() default false;

    /** Whether {@link #max()} itself is refused. */
    boolean maxExclusive() default false;
}
