package org.align4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code align4j} command: one subcommand per stage and utility. */
@Command(name = "align4j", mixinStandardHelpOptions = true, version = "align4j 0.1.0",
        description = "Align language models on the JVM: SFT, reward models, PPO, DPO.",
        subcommands = {SftCommand.class, RewardCommand.class, ScoreCommand.class, DpoCommand.class, EvalCommand.class, RunsCommand.class, DataCommand.class, LabelCommand.class, InitCommand.class, ExamplesCommand.class, GenerateCommand.class, TokenizerCommand.class, BenchCommand.class, CommandLine.HelpCommand.class})
public final class Align4j implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns the exit code (tests call this). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Align4j());
        // a flag given twice takes its last value, so a config-style command line can be extended
        cl.setOverwrittenOptionsAllowed(true);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            // a user error: one clear line, no stack trace
            if (e instanceof java.io.IOException || e instanceof IllegalArgumentException
                    || e instanceof UserError) {
                cmd.getErr().println("align4j: " + e.getMessage());
                return 1;
            }
            throw e;
        });
        return cl.execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
