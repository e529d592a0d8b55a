package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.align4j.train.SettingRanges;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgGroupSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

/**
 * Every numeric option of every command, the training stages included, has a range (a training
 * stage's from its settings' table, see {@link ConfigRangeWalkTest}, another command's @Range), and
 * 0, -1 and a huge value outside it are refused with a one-line message naming the option and
 * exit code 1, before the command does any work (the other required arguments are dummies that
 * the command never reaches).
 */
class OptionRangeWalkTest {

    static final Set<Class<?>> NUMERIC = Set.of(int.class, Integer.class, long.class, Long.class, double.class,
            Double.class, float.class, Float.class);

    static void commands(CommandLine cl, List<String> path, List<Object[]> out) {
        out.add(new Object[] {cl.getCommandSpec(), new ArrayList<>(path)});
        cl.getSubcommands().forEach((name, sub) -> {
            if (!name.equals("help") && sub.getCommandSpec().name().equals(name)) {
                List<String> p = new ArrayList<>(path);
                p.add(name);
                commands(sub, p, out);
            }
        });
    }

    static String huge(Class<?> type) {
        return type == int.class || type == Integer.class ? Integer.toString(Integer.MAX_VALUE)
                : type == long.class || type == Long.class ? Long.toString(Long.MAX_VALUE) : "1e300";
    }

    /** Dummy values for the command's required options, groups and positionals, other than {@code tested}. */
    static List<String> requiredDummies(CommandSpec spec, OptionSpec tested) {
        List<String> args = new ArrayList<>();
        for (OptionSpec o : spec.options()) {
            if (o.required() && o != tested && o.group() == null) {
                args.add(o.longestName());
                args.add(NUMERIC.contains(o.type()) ? "1" : Map.class.isAssignableFrom(o.type()) ? "x=x" : "x");
            }
        }
        for (ArgGroupSpec g : spec.argGroups()) {
            if (g.multiplicity().min() > 0 && !g.options().isEmpty()) {
                OptionSpec first = g.options().iterator().next();
                args.add(first.longestName());
                args.add("x");
            }
        }
        for (PositionalParamSpec p : spec.positionalParameters()) {
            if (p.required()) {
                args.add("x");
            }
        }
        return args;
    }

    @Test
    void everyNumericOptionDeclaresItsRangeAndRefusesValuesOutsideIt() {
        List<Object[]> all = new ArrayList<>();
        commands(new CommandLine(new Align4j()), new ArrayList<>(), all);
        int numeric = 0;
        int refused = 0;
        List<String> commandNames = new ArrayList<>();
        for (Object[] c : all) {
            CommandSpec spec = (CommandSpec) c[0];
            @SuppressWarnings("unchecked")
            List<String> path = (List<String>) c[1];
            commandNames.add(String.join(" ", path));
            for (OptionSpec o : spec.options()) {
                if (!NUMERIC.contains(o.type())) {
                    continue;
                }
                numeric++;
                SettingRanges.Entry r = OptionRanges.rangeOf(spec, o);
                assertNotNull(r, "align4j " + String.join(" ", path) + " " + o.longestName() + " declares no @Range");
                // a setting's range is the settings table's alone: a second one on the flag could disagree
                assertFalse(OptionRanges.settings(spec).containsKey(StageCommand.key(o))
                        && OptionRanges.fieldRange(o) != null, "align4j " + String.join(" ", path) + " "
                        + o.longestName() + " has a @Range besides its setting's");
                for (String value : List.of("0", "-1", huge(o.type()))) {
                    if (r.problem(Double.parseDouble(value)) == null) {
                        continue; // a valid value: nothing to refuse
                    }
                    List<String> args = new ArrayList<>(path);
                    args.addAll(requiredDummies(spec, o));
                    args.add(o.longestName());
                    args.add(value);
                    ByteArrayOutputStream err = new ByteArrayOutputStream();
                    PrintStream old = System.err;
                    int code;
                    try {
                        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
                        code = Align4j.run(args.toArray(new String[0]));
                    } finally {
                        System.setErr(old);
                    }
                    String message = err.toString(StandardCharsets.UTF_8);
                    String what = "align4j " + String.join(" ", args);
                    assertEquals(1, code, what + ": " + message);
                    assertTrue(message.startsWith("align4j: " + o.longestName() + " must be "), what + ": " + message);
                    assertFalse(message.contains("Exception") || message.contains("\tat "), what + ": " + message);
                    refused++;
                }
            }
        }
        assertTrue(commandNames.containsAll(List.of("sft", "reward", "dpo", "score", "eval", "generate",
                "label prepare", "bench")), commandNames.toString());
        assertTrue(numeric > 80, "numeric options walked: " + numeric);
        assertTrue(refused > 100, "values refused: " + refused);
    }

    @Test
    void everyCommandsHelpHasNoWarningAndDescribesEveryOption() {
        List<Object[]> all = new ArrayList<>();
        commands(new CommandLine(new Align4j()), new ArrayList<>(), all);
        for (Object[] c : all) {
            CommandSpec spec = (CommandSpec) c[0];
            @SuppressWarnings("unchecked")
            List<String> path = new ArrayList<>((List<String>) c[1]);
            for (OptionSpec o : spec.options()) {
                assertTrue(o.description().length > 0 && !o.description()[0].isBlank(),
                        "align4j " + String.join(" ", path) + " " + o.longestName() + " has no description");
            }
            path.add("--help");
            ByteArrayOutputStream all2 = new ByteArrayOutputStream();
            PrintStream oldErr = System.err;
            PrintStream oldOut = System.out;
            int code;
            try {
                PrintStream both = new PrintStream(all2, true, StandardCharsets.UTF_8);
                System.setErr(both);
                System.setOut(both);
                code = Align4j.run(path.toArray(new String[0]));
            } finally {
                System.setErr(oldErr);
                System.setOut(oldOut);
            }
            String text = all2.toString(StandardCharsets.UTF_8);
            assertEquals(0, code, String.join(" ", path));
            assertFalse(text.contains("WARN"), "align4j " + String.join(" ", path) + ": " + text);
        }
    }
}
