package org.align4j.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.align4j.core.output.OutputCheck;
import org.align4j.core.output.PathKind;
import org.align4j.core.output.RealPaths;
import org.align4j.core.run.Checkpoints;
import org.align4j.core.run.RunDirectory;
import org.align4j.core.util.AtomicFiles;
import org.align4j.pipeline.report.Charts;
import org.knowm.xchart.XYChart;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "runs", mixinStandardHelpOptions = true,
        description = "Inspect and control training runs (the directories written by sft and the other stages).",
        subcommands = {RunsCommand.ListRuns.class, RunsCommand.Show.class, RunsCommand.Events.class,
                RunsCommand.Cancel.class, RunsCommand.Plot.class})
final class RunsCommand implements Runnable {

    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    static RunDirectory require(Path dir) throws IOException {
        RunDirectory run = new RunDirectory(dir);
        if (!run.exists()) {
            throw new UserError(dir + ": not a run directory (no events.jsonl or config.json)");
        }
        return run;
    }

    static JsonNode last(List<JsonNode> rows) {
        return rows.isEmpty() ? null : rows.get(rows.size() - 1);
    }

    static Double bestValLoss(List<JsonNode> metrics) {
        Double best = null;
        for (JsonNode m : metrics) {
            if (m.has("val_loss") && (best == null || m.get("val_loss").asDouble() < best)) {
                best = m.get("val_loss").asDouble();
            }
        }
        return best;
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Runs under DIR (default runs/).",
            footer = {"", "Example:", "  align4j runs list runs/"})
    static final class ListRuns implements Callable<Integer> {
        @Parameters(arity = "0..1", defaultValue = "runs", paramLabel = "DIR")
        Path dir;

        @Override
        public Integer call() throws Exception {
            PrintStream out = Console.stdout();
            List<Path> runs = new ArrayList<>();
            if (new RunDirectory(dir).exists()) {
                runs.add(dir);
            } else if (Files.isDirectory(dir)) {
                try (Stream<Path> s = Files.list(dir)) {
                    s.filter(p -> new RunDirectory(p).exists()).sorted().forEach(runs::add);
                }
            } else {
                throw new UserError(dir + ": no such directory");
            }
            out.printf("%-36s %-10s %8s %10s %10s%n", "RUN", "STATUS", "STEP", "LOSS", "VAL_LOSS");
            for (Path p : runs) {
                RunDirectory run = new RunDirectory(p);
                List<JsonNode> metrics = run.metrics();
                JsonNode lastRow = last(metrics);
                RunDirectory.Status status = run.status();
                JsonNode lastVal = null;
                for (JsonNode m : metrics) {
                    if (m.has("val_loss")) {
                        lastVal = m;
                    }
                }
                out.printf("%-36s %-10s %8s %10s %10s%n", p, status == null ? "-" : status.name().toLowerCase(),
                        lastRow == null ? "-" : lastRow.path("step").asText(),
                        lastRow == null ? "-" : String.format("%.4f", lastRow.path("loss").asDouble()),
                        lastVal == null ? "-" : String.format("%.4f", lastVal.path("val_loss").asDouble()));
            }
            return 0;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "Summary of one run.",
            footer = {"", "Example:", "  align4j runs show runs/emojibot"})
    static final class Show implements Callable<Integer> {
        @Parameters(paramLabel = "RUN_DIR")
        Path dir;

        @Override
        public Integer call() throws Exception {
            RunDirectory run = require(dir);
            PrintStream out = Console.stdout();
            List<JsonNode> metrics = run.metrics();
            RunDirectory.Status status = run.status();
            out.printf("run:      %s%nstatus:   %s%n", dir, status == null ? "-" : status.name().toLowerCase());
            JsonNode lastEvent = last(run.events());
            if (lastEvent != null) {
                out.printf("          %s %s%n", lastEvent.path("time").asText(), lastEvent.path("message").asText());
            }
            if (Files.isRegularFile(run.configFile())) {
                JsonNode cfg = new ObjectMapper().readTree(run.configFile().toFile());
                out.println("config:   " + cfg);
            }
            JsonNode first = metrics.isEmpty() ? null : metrics.get(0);
            JsonNode lastRow = last(metrics);
            if (lastRow != null) {
                out.printf("steps:    %d logged; loss %.4f at step %d -> %.4f at step %d%n", metrics.size(),
                        first.path("loss").asDouble(), first.path("step").asLong(), lastRow.path("loss").asDouble(),
                        lastRow.path("step").asLong());
                out.printf("speed:    %.0f tokens/s (last step)%n", lastRow.path("tokens_per_s").asDouble());
            }
            Double best = bestValLoss(metrics);
            if (best != null) {
                // perplexity only where the loss is a language model's (it is per token)
                boolean lm = metrics.stream().anyMatch(m -> m.has("val_perplexity"));
                out.printf("best val: loss %.4f%s%n", best, lm ? String.format(" (perplexity %.3f)", Math.exp(best)) : "");
            }
            JsonNode lastEval = null;
            for (JsonNode m : metrics) {
                lastEval = m.has("val_loss") ? m : lastEval;
            }
            if (lastEval != null) {
                StringBuilder sb = new StringBuilder();
                lastEval.fields().forEachRemaining(e -> {
                    if (e.getKey().startsWith("val_") && e.getValue().isNumber()) {
                        sb.append(String.format(" %s %.4f", e.getKey(), e.getValue().asDouble()));
                    }
                });
                out.println("last val:" + sb + " (step " + lastEval.path("step").asLong() + ")");
            }
            List<Path> ckpts = new Checkpoints(run).list();
            out.println("checkpoints: " + (ckpts.isEmpty() ? "none"
                    : ckpts.stream().map(p -> p.getFileName().toString()).toList()));
            out.println("best:     " + (Files.isDirectory(run.bestDir()) ? run.bestDir() : "-"));
            out.println("final:    " + (Files.isDirectory(run.finalDir()) ? run.finalDir() : "-"));
            return 0;
        }
    }

    @Command(name = "events", mixinStandardHelpOptions = true, description = "Status changes of a run.",
            footer = {"", "Example:", "  align4j runs events runs/emojibot"})
    static final class Events implements Callable<Integer> {
        @Parameters(paramLabel = "RUN_DIR")
        Path dir;

        @Override
        public Integer call() throws Exception {
            PrintStream out = Console.stdout();
            for (JsonNode e : require(dir).events()) {
                out.printf("%s  %-10s %s%n", e.path("time").asText(), e.path("status").asText(),
                        e.path("message").asText());
            }
            return 0;
        }
    }

    @Command(name = "cancel", mixinStandardHelpOptions = true,
            description = "Ask a running job to save a checkpoint and stop cleanly (resume it with --resume).",
            footer = {"", "Example:", "  align4j runs cancel runs/emojibot"})
    static final class Cancel implements Callable<Integer> {
        @Parameters(paramLabel = "RUN_DIR")
        Path dir;

        @Override
        public Integer call() throws Exception {
            RunDirectory run = require(dir);
            RunDirectory.Status s = run.status();
            if (s != RunDirectory.Status.RUNNING) {
                throw new UserError(dir + ": the run is " + (s == null ? "not started" : s.name().toLowerCase())
                        + ", not running");
            }
            run.requestCancel();
            Console.stdout().println("cancellation requested; the run will save a checkpoint and stop after its current step");
            return 0;
        }
    }

    @Command(name = "plot", mixinStandardHelpOptions = true,
            description = "Draw a run's training curves (every group of metrics it logged: loss, accuracy, reward"
                    + " margins, PPO's score and KL, ...) against the step, as one PNG.",
            footer = {"", "Examples:", "  align4j runs plot runs/emojibot",
                    "  align4j runs plot runs/positive-stories/ppo --out ppo.png"})
    static final class Plot implements Callable<Integer> {
        @Parameters(paramLabel = "RUN_DIR", description = "the run directory")
        Path dir;
        @Option(names = "--out", paramLabel = "FILE.png", description = "image to write, or a directory to write"
                + " RUN_NAME.png into (default: RUN_DIR/curves.png)")
        Path out;
        @Mixin
        ForceOption force;

        @Override
        public Integer call() throws Exception {
            RunDirectory run = require(dir);
            String name = RealPaths.real(dir).getFileName().toString();
            Path file = out == null ? dir.resolve("curves.png") : out;
            if (out != null && Files.isDirectory(out)) {
                // a directory of plots, or a run's or a pipeline's own; a model directory is not a place for one
                OutputCheck.of("--out", out).replaces(PathKind.DIRECTORY, PathKind.RUN, PathKind.PIPELINE,
                        PathKind.COMPARISON).check(force.force);
                file = out.resolve(name + ".png");
            }
            OutputCheck.of("--out", file).replaces(PathKind.IMAGE).input("the run's metrics", run.metricsFile())
                    .input("the run's events", run.eventsFile()).input("the run's config", run.configFile())
                    .check(force.force);
            List<XYChart> charts = Charts.runCurves(dir, name, System.err::println);
            if (charts.isEmpty()) {
                throw new UserError(dir + ": no metrics logged yet (metrics.jsonl is empty)");
            }
            byte[] png = Charts.grid(charts, 2);
            AtomicFiles.write(file, o -> o.write(png));
            Console.stdout().println(file + ": " + charts.size() + " chart(s)");
            Console.stdout().flush();
            return 0;
        }
    }
}
