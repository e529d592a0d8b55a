package org.align4j.cli;

import java.lang.reflect.Field;

import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

/** Checks the {@link Range} of every numeric option given on the command line, before any work. */
final class OptionRanges {

    private OptionRanges() {
    }

    /** Throws a {@link UserError} naming the first option out of its range, for the command and its parents. */
    static void check(ParseResult parsed) {
        for (ParseResult p = parsed; p != null; p = p.subcommand()) {
            for (OptionSpec o : p.matchedOptions()) {
                Range r = rangeOf(o);
                Object v = o.getValue();
                if (r != null && v instanceof Number n) {
                    String problem = problem(r, n.doubleValue());
                    if (problem != null) {
                        throw new UserError(o.longestName() + " " + problem + ", got " + v);
                    }
                }
            }
        }
    }

    static Range rangeOf(OptionSpec o) {
        return o.userObject() instanceof Field f ? f.getAnnotation(Range.class) : null;
    }

    static String problem(Range r, double v) {
        if (Double.isNaN(v)) {
            return "must be a number";
        }
        boolean lowOk = r.minExclusive() ? v > r.min() : v >= r.min();
        boolean highOk = r.maxExclusive() ? v < r.max() : v <= r.max();
        if (lowOk && highOk) {
            return null;
        }
        String low = Double.isInfinite(r.min()) ? null : (r.minExclusive() ? "above " : "at least ") + fmt(r.min());
        String high = Double.isInfinite(r.max()) ? null : (r.maxExclusive() ? "below " : "at most ") + fmt(r.max());
        return "must be " + (low != null && high != null ? low + " and " + high : low != null ? low : high);
    }

    private static String fmt(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
    }
}
