package org.align4j.cli;

import java.io.IOException;
import java.io.UncheckedIOException;

import org.align4j.core.util.UserInputException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code align4j} command: one subcommand per stage and utility. */
@Command(name = "align4j", mixinStandardHelpOptions = true, version = "align4j 0.1.0",
        description = "Align language models on the JVM: SFT, reward models, PPO, DPO.",
        subcommands = {PipelineCommand.class, SftCommand.class, RewardCommand.class, ScoreCommand.class, GradeCommand.class, DpoCommand.class, KtoCommand.class, DistillCommand.class, PpoCommand.class, MergeCommand.class, CompareCommand.class, EvalCommand.class, RunsCommand.class, DataCommand.class, LabelCommand.class, InitCommand.class, ExamplesCommand.class, GenerateCommand.class, ServeCommand.class, TokenizerCommand.class, BenchCommand.class, CommandLine.HelpCommand.class})
public final class Align4j implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        int code;
        try {
            code = run(args);
        } catch (OutOfMemoryError e) {
            System.err.println("align4j: out of memory (" + e.getMessage() + "): use a smaller model, --batch-size or"
                    + " --max-length, or give the JVM more with ALIGN4J_JAVA_OPTS=-Xmx... and"
                    + " -Dorg.bytedeco.javacpp.maxbytes=...");
            code = 1;
        }
        System.exit(code);
    }

    /** Runs the command line and returns the exit code (tests call this). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Align4j());
        // a flag given twice takes its last value, so a config-style command line can be extended
        cl.setOverwrittenOptionsAllowed(true);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            // the user's mistake (bad input, a file that cannot be read or written): one clear line
            if (e instanceof IOException || e instanceof UncheckedIOException || e instanceof UserInputException) {
                cmd.getErr().println("align4j: " + e.getMessage());
                return 1;
            }
            // anything else is a bug in align4j: say so, with what is needed to fix it
            cmd.getErr().println("align4j: internal error (a bug in align4j; please report it with the command line"
                    + " and this trace):");
            e.printStackTrace(cmd.getErr());
            return 3;
        });
        // numeric options are checked against their @Range before any command does work
        cl.setExecutionStrategy(parsed -> {
            try {
                OptionRanges.check(parsed);
            } catch (UserError e) {
                parsed.commandSpec().commandLine().getErr().println("align4j: " + e.getMessage());
                return 1;
            }
            return new CommandLine.RunLast().execute(parsed);
        });
        return cl.execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
