package org.align4j.cli;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The values a numeric option accepts, for options that are not a training stage's settings (a
 * setting's range is declared once, on its settings record, as {@code @SettingRange}, and serves
 * its flag and its config key alike). Every numeric option has one or the other (a test walks them
 * all). Checked by {@link OptionRanges} for each option given, before the command does any work.
 * {@code @Range} with no bounds says that every finite value is valid (seeds).
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
