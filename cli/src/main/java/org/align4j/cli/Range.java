package org.align4j.cli;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The values a numeric option accepts; every numeric option has one (a test walks them all).
 * Checked by {@link OptionRanges} for each option given, before the command does any work.
 * {@code @Range} with no bounds says that every value is valid (seeds).
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.FIELD)
@interface Range {
    double min() default Double.NEGATIVE_INFINITY;

    double max() default Double.POSITIVE_INFINITY;

    /** Whether {@link #min()} itself is refused (a learning rate must be above 0). */
    boolean minExclusive() default false;

    /** Whether {@link #max()} itself is refused. */
    boolean maxExclusive() default false;
}
