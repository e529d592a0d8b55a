package org.align4j.cli;

import java.lang.reflect.Field;
import java.util.Map;

import org.align4j.train.SettingRanges;
import org.align4j.train.TrainingOptions;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

/**
 * Checks the range of every numeric option given on the command line, before any work. A training
 * stage's options are settings: their ranges come from the settings records' table
 * ({@link SettingRanges}), the same that checks config files; other commands' options declare a
 * {@link Range} on the field.
 */
final class OptionRanges {

    private OptionRanges() {
    }

    /** Throws a {@link UserError} naming the first option out of its range, for the command and its parents. */
    static void check(ParseResult parsed) {
        for (ParseResult p = parsed; p != null; p = p.subcommand()) {
            for (OptionSpec o : p.matchedOptions()) {
                SettingRanges.Entry r = rangeOf(p.commandSpec(), o);
                Object v = o.getValue();
                if (r != null && v instanceof Number n) {
                    String problem = r.problem(n.doubleValue());
                    if (problem != null) {
                        throw new UserError(o.longestName() + " " + problem + ", got " + v);
                    }
                }
            }
        }
    }

    /** The option's range: its setting's for a training stage, else the field's {@link Range}; null if none. */
    static SettingRanges.Entry rangeOf(CommandSpec command, OptionSpec o) {
        SettingRanges.Entry setting = settings(command).get(StageCommand.key(o));
        if (setting != null) {
            return setting;
        }
        Range r = fieldRange(o);
        return r == null ? null : new SettingRanges.Entry(o.longestName(), r.min(), r.max(), r.minExclusive(),
                r.maxExclusive(), o.type(), false);
    }

    /** The range table of a training stage's settings; empty for other commands. */
    static Map<String, SettingRanges.Entry> settings(CommandSpec command) {
        return command.defaultValueProvider() instanceof StageCommand.Defaults d
                ? SettingRanges.of(TrainingOptions.class, d.stageType()) : Map.of();
    }

    static Range fieldRange(OptionSpec o) {
        return o.userObject() instanceof Field f ? f.getAnnotation(Range.class) : null;
    }
}
