package org.align4j.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import picocli.CommandLine.Mixin;
import org.align4j.core.backend.Backend;
import org.align4j.core.output.OutputCheck;
import org.align4j.core.output.PathKind;
import org.align4j.core.output.WriterLock;
import org.align4j.data.format.DataRecord;
import org.align4j.data.format.RecordJson;
import org.align4j.data.jsonl.JsonlWriter;
import org.align4j.data.label.Agreement;
import org.align4j.data.label.BinarySession;
import org.align4j.data.label.Judgment;
import org.align4j.data.label.JudgmentStore;
import org.align4j.data.label.LabelExport;
import org.align4j.data.label.LabelSession;
import org.align4j.data.label.LabelTask;
import org.align4j.data.prepare.RankingPairs;
import org.align4j.reward.ActiveSelection;
import org.align4j.pipeline.Candidates;
import org.align4j.pipeline.SimulatedAnnotator;
import org.align4j.reward.RewardScorer;
import org.align4j.reward.fn.RewardFunction;
import org.align4j.train.scale.ScaleOut;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "label", mixinStandardHelpOptions = true,
        description = "Collect human rankings of candidate responses for reward models and DPO.",
        subcommands = {LabelCommand.Prepare.class, LabelCommand.Session.class, LabelCommand.Simulate.class,
                LabelCommand.Export.class,
                LabelCommand.AgreementCmd.class, LabelCommand.Stats.class})
final class LabelCommand implements Runnable {

    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    static Map<String, LabelTask> taskMap(Path file) throws Exception {
        Map<String, LabelTask> m = new LinkedHashMap<>();
        for (LabelTask t : LabelTask.read(file)) {
            m.put(t.id(), t);
        }
        return m;
    }

    @Command(name = "prepare", mixinStandardHelpOptions = true,
            description = "Sample K distinct responses per prompt from a model and write a task file. With --budget N"
                    + " only N tasks are kept: with --select uncertainty those whose candidates the reward model"
                    + " separates least (Bradley-Terry probabilities nearest 1/2), so annotators spend their time"
                    + " where the model is unsure; --select random is the control.",
            footer = {"", "Examples:",
                    "  align4j label prepare --model runs/sft/final --prompts prompts.jsonl --k 4 --out tasks.jsonl",
                    "  align4j label prepare --model runs/sft/final --prompts prompts.jsonl --k 4 --out tasks.jsonl \\",
                    "      --reward-model runs/rm/final --select uncertainty --budget 200",
                    "  align4j label prepare --model runs/sft/final --prompts prompts.jsonl --k 4 --out tasks.jsonl \\",
                    "      --spark-master 'local[4]'"})
    static final class Prepare implements Callable<Integer> {
        @Option(names = "--model", required = true, description = "model that samples the candidates")
        Path model;
        @Mixin
        AdapterOption adapter;
        @Option(names = "--prompts", required = true, description = "JSONL with a 'prompt' per line (optional 'id')")
        Path prompts;
        @Range(min = 2, max = 9)
        @Option(names = "--k", defaultValue = "4", description = "responses per prompt, 2..9")
        int k;
        @Option(names = "--out", required = true, description = "task file to write (JSONL)")
        Path out;
        @Range(min = 0, minExclusive = true, max = 100)
        @Option(names = "--temperature", defaultValue = "1.0", description = "sampling temperature, above 0 (default: ${DEFAULT-VALUE})")
        double temperature;
        @Range(min = 0, max = 1, minExclusive = true)
        @Option(names = "--top-p", defaultValue = "0.95", description = "nucleus sampling mass (default: ${DEFAULT-VALUE})")
        double topP;
        @Range(min = 1)
        @Option(names = "--max-new-tokens", defaultValue = "64", description = "tokens per candidate (default: ${DEFAULT-VALUE})")
        int maxNewTokens;
        @Range()
        @Option(names = "--seed", defaultValue = "0", description = "sampling seed (default: ${DEFAULT-VALUE})")
        long seed;
        @Option(names = "--reward-model", paramLabel = "RM_DIR", description = "reward model for --select uncertainty")
        Path rewardModel;
        @Option(names = "--select", defaultValue = "uncertainty",
                description = "which tasks a --budget keeps: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE})")
        ActiveSelection.Strategy select;
        @Range(min = 1)
        @Option(names = "--budget", paramLabel = "N", description = "keep only N tasks (default: all)")
        Integer budget;
        @Mixin
        ForceOption force;
        @Mixin
        SparkOption spark;

        @Override
        public Integer call() throws Exception {
            // a task file may already be judged: new responses under old ids would pair old rankings with them
            OutputCheck.of("--out", out).input("--model", model).input("--prompts", prompts)
                    .input("--reward-model", rewardModel).check(force.force);
            if (budget != null && budget < 1) {
                throw new UserError("--budget must be at least 1, got " + budget);
            }
            if (budget != null && select == ActiveSelection.Strategy.UNCERTAINTY && rewardModel == null) {
                throw new UserError("--select uncertainty needs --reward-model RM_DIR (or use --select random)");
            }
            if (k < LabelTask.MIN_K || k > LabelTask.MAX_K) {
                throw new UserError("--k must be between 2 and 9");
            }
            if (rewardModel != null) {
                // loaded once here, so that a directory that is not a reward model is refused before any sampling
                RewardScorer.load(rewardModel, Backend.get().kernels());
            }
            List<Candidates.Prompt> sourced = Candidates.readPrompts(prompts);
            // the cluster is reached after the inputs are read (their mistakes come first) and before any sampling
            ScaleOut scale = spark.scaleOut();
            List<LabelTask> tasks = Candidates.sample(adapter.source(model), prompts, sourced,
                    new Candidates.Sampling(k, temperature, topP, maxNewTokens, seed), Backend.get().kernels(),
                    System.err, scale);
            if (budget != null && budget < tasks.size()) {
                int all = tasks.size();
                tasks = Candidates.select(tasks, rewardModel, select, budget, seed, Backend.get().kernels(), scale);
                System.err.printf("kept %d of %d tasks (--select %s)%n", tasks.size(), all, select);
            }
            Candidates.write(out, tasks);
            System.err.printf("%s: %d tasks of %d responses%n", out, tasks.size(), k);
            return 0;
        }
    }

    /** What a session asks of the annotator. */
    enum SessionMode {
        /** Rank a task's candidates best first. */
        RANKING,
        /** One candidate at a time, thumbs up or down (KTO's data). */
        BINARY;

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    @Command(name = "session", mixinStandardHelpOptions = true,
            description = {"Rank candidates, one task at a time, or (--mode binary) judge one candidate at a time up or",
                    "down. Each judgment is appended to --out and fsynced before the next one is shown; running the",
                    "command again continues with what is not judged yet. Reads one line per answer: works on a",
                    "terminal and from a pipe."},
            footer = {"", "Answers (ranking): B>A=C>D (best first, = ties), B>A>C # rationale, s skip, u undo,",
                    "f [bad|unsafe|unclear] flag, ? help, q quit.",
                    "Answers (binary): + good, - bad, + # rationale, s skip, u undo, f [bad|unsafe|unclear], ? help, q quit.",
                    "", "Examples:",
                    "  align4j label session --tasks tasks.jsonl --out judgments.jsonl --annotator alice",
                    "  align4j label session --tasks tasks.jsonl --out judgments.jsonl --annotator bob --mode binary",
                    "  align4j label export --in judgments.jsonl --tasks tasks.jsonl --to kto --out thumbs.jsonl"})
    static final class Session implements Callable<Integer> {
        @Option(names = "--mode", defaultValue = "ranking",
                description = "${COMPLETION-CANDIDATES}: rank a task's candidates, or thumbs up/down one candidate"
                        + " at a time (default: ${DEFAULT-VALUE})")
        SessionMode mode;
        @Option(names = "--tasks", required = true, description = "task file from label prepare")
        Path tasks;
        @Option(names = "--out", required = true, description = "judgments file (JSONL, append-only)")
        Path out;
        @Option(names = "--annotator", required = true, description = "your name or id, stored with each judgment")
        String annotator;
        @Range()
        @Option(names = "--seed", defaultValue = "0", description = "shuffles task order and candidate letters")
        long seed;

        @Override
        public Integer call() throws Exception {
            OutputCheck.of("--out", out).input("--tasks", tasks).checkAppendsTo(PathKind.JUDGMENTS);
            boolean terminal = System.console() != null;
            int width = terminalWidth(terminal);
            JudgmentStore store = new JudgmentStore(out);
            if (mode == SessionMode.BINARY) {
                BinarySession.Summary sum;
                try (WriterLock lock = store.lock(annotator)) {
                    sum = new BinarySession(LabelTask.read(tasks), store, annotator, seed,
                            new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)),
                            Console.stdout(), terminal, width).run();
                }
                System.err.printf("this session: %d judged (%d up, %d down, %d flagged), %d skipped, %d undone; %d"
                        + " remaining%n", sum.judged(), sum.up(), sum.down(), sum.flagged(), sum.skipped(), sum.undone(),
                        sum.remaining());
                return 0;
            }
            LabelSession.Summary sum;
            try (WriterLock lock = store.lock(annotator)) {
                sum = new LabelSession(LabelTask.read(tasks), store, annotator, seed,
                        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)), Console.stdout(),
                        terminal, width).run();
            }
            System.err.printf("this session: %d judged (%d flagged), %d skipped, %d undone; %d remaining%n",
                    sum.judged(), sum.flagged(), sum.skipped(), sum.undone(), sum.remaining());
            return 0;
        }
    }

    /** $COLUMNS, else the terminal's own width (stty), else 100. */
    static int terminalWidth(boolean terminal) {
        try {
            String cols = System.getenv("COLUMNS");
            if (cols != null) {
                return Integer.parseInt(cols.trim());
            }
            if (terminal) {
                Process p = new ProcessBuilder("sh", "-c", "stty size < /dev/tty").redirectErrorStream(true).start();
                String[] size = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim().split("\\s+");
                if (p.waitFor() == 0 && size.length == 2) {
                    return Integer.parseInt(size[1]);
                }
            }
        } catch (IOException | NumberFormatException e) {
            // fall back
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 100;
    }

    @Command(name = "export", mixinStandardHelpOptions = true,
            description = {"Judgments to training data: rankings (majority or per annotator), preference pairs, or",
                    "KTO's unpaired thumbs (--to kto: a ranking's best group up and worst group down, and every",
                    "binary judgment's thumb; with --majority one thumb per response by majority vote)."},
            footer = {"", "Examples:",
                    "  align4j label export --in judgments.jsonl --tasks tasks.jsonl --to pairs --out pairs.jsonl",
                    "  align4j label export --in judgments.jsonl --tasks tasks.jsonl --to kto --out thumbs.jsonl",
                    "  align4j label export --in a.jsonl b.jsonl --tasks tasks.jsonl --to rankings --majority"
                            + " --min-annotators 2 --out rankings.jsonl"})
    static final class Export implements Callable<Integer> {
        @Option(names = "--in", required = true, arity = "1..*", description = "judgment files (one or several annotators)")
        List<Path> in;
        @Option(names = "--tasks", required = true, description = "the task file the judgments refer to")
        Path tasks;
        @Option(names = "--to", required = true, description = "pairs, rankings or kto")
        String to;
        @Option(names = "--majority", description = "one majority ranking per task (default: one per annotator)")
        boolean majority;
        @Range(min = 1)
        @Option(names = "--min-annotators", defaultValue = "1", description = "leave out tasks judged by fewer annotators (default: ${DEFAULT-VALUE})")
        int minAnnotators;
        @Option(names = "--out", required = true, description = "JSONL file to write")
        Path out;
        @Mixin
        ForceOption force;

        @Override
        public Integer call() throws Exception {
            if (!to.equals("pairs") && !to.equals("rankings") && !to.equals("kto")) {
                throw new UserError("--to must be pairs, rankings or kto");
            }
            OutputCheck.of("--out", out).replaces(PathKind.DATA).inputs("--in", in).input("--tasks", tasks)
                    .check(force.force);
            JudgmentStore.Contents judgments = JudgmentStore.readInputs(in);
            Map<String, LabelTask> taskMap = taskMap(tasks);
            judgments.checkAgainst(taskMap, tasks);
            if (to.equals("kto")) {
                LabelExport.KtoResult k = LabelExport.exportKto(judgments, taskMap, majority, minAnnotators);
                if (k.records().isEmpty()) {
                    throw new UserError("no thumb to export from " + in + ": every judgment is flagged, retracted, tied"
                            + " throughout or below --min-annotators");
                }
                List<JsonNode> rows = new ArrayList<>();
                k.records().forEach(u -> rows.add(RecordJson.toJson(u)));
                JsonlWriter.write(out, rows);
                long up = k.records().stream().filter(DataRecord.Unpaired::label).count();
                System.err.printf("%s: %d kto records (%d desirable, %d undesirable; %d from rankings, %d from thumbs);"
                        + " excluded %d flagged and %d retracted judgment(s), %d below %d annotators, %d split"
                        + " vote(s)%n", out, rows.size(), up, rows.size() - up, k.fromRankings(), k.fromThumbs(),
                        k.flaggedExcluded(), k.retractedExcluded(), k.belowMinAnnotators(), minAnnotators,
                        k.splitVotes());
                return 0;
            }
            LabelExport.Result r = LabelExport.export(judgments, taskMap, majority, minAnnotators);
            List<JsonNode> rows = new ArrayList<>();
            for (DataRecord.Ranking k : r.rankings()) {
                if (to.equals("rankings")) {
                    rows.add(RecordJson.toJson(k));
                } else {
                    RankingPairs.expand(k).forEach(p -> rows.add(RecordJson.toJson(p)));
                }
            }
            JsonlWriter.write(out, rows);
            System.err.printf("%s: %d %s; excluded %d flagged and %d retracted judgment(s), %d task(s) with fewer than"
                    + " %d annotators%n", out, rows.size(), to, r.flaggedExcluded(), r.retractedExcluded(),
                    r.tasksBelowMinAnnotators(), minAnnotators);
            return 0;
        }
    }

    @Command(name = "agreement", mixinStandardHelpOptions = true,
            description = {"Inter-annotator agreement on pairwise comparisons: agreement %%, Cohen's kappa per pair,",
                    "Krippendorff's alpha, agreement with the majority, accuracy on gold tasks."},
            footer = {"", "Example:", "  align4j label agreement --in judgments.jsonl --tasks tasks.jsonl"})
    static final class AgreementCmd implements Callable<Integer> {
        @Option(names = "--in", required = true, arity = "1..*", description = "judgment files (one or several annotators)")
        List<Path> in;
        @Option(names = "--tasks", description = "the task file (needed for gold accuracy)")
        Path tasks;
        @Option(names = "--json", description = "print the statistics as JSON")
        boolean json;

        @Override
        public Integer call() throws Exception {
            Map<String, LabelTask> t = tasks == null ? Map.of() : taskMap(tasks);
            JudgmentStore.Contents judgments = JudgmentStore.readInputs(in);
            if (tasks != null) {
                judgments.checkAgainst(t, tasks);
            }
            Agreement.Report r = Agreement.compute(judgments.effective(), t);
            PrintStream o = Console.stdout();
            if (json) {
                ObjectNode n = Agreement.toJson(r);
                o.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(n));
                return 0;
            }
            o.printf("tasks judged by 2 or more annotators: %d%n", r.tasksWithSeveral());
            o.printf("pairwise agreement: %.1f%% (InstructGPT's labellers: 72.6-77.3%%)%n", 100 * r.overallAgreement());
            o.printf("Krippendorff's alpha (nominal): %.3f%n", r.krippendorffAlpha());
            for (Agreement.PairStats p : r.pairs()) {
                o.printf("  %s ~ %s: %d comparisons, agreement %.1f%%, Cohen's kappa %.3f%n", p.a(), p.b(), p.items(),
                        100 * p.agreement(), p.cohensKappa());
            }
            r.agreementWithMajority().forEach((a, v) -> o.printf("  %s agrees with the majority of the others %.1f%%%n",
                    a, 100 * v));
            r.goldAccuracy().forEach((a, v) -> o.printf("  %s on gold tasks: %.1f%% of %d comparisons%n", a, 100 * v,
                    r.goldItems().get(a)));
            return 0;
        }
    }

    @Command(name = "simulate", mixinStandardHelpOptions = true,
            description = "A simulated annotator: ranks each task's responses by a judge's score plus Gumbel noise"
                    + " (Bradley-Terry on every pair: the better response wins with probability sigmoid(difference /"
                    + " temperature)) and appends its judgments to the same store as 'label session', so export,"
                    + " agreement and training treat them as a person's. Running it again judges only the tasks it has"
                    + " not judged yet.",
            footer = {"", "Examples:",
                    "  align4j label simulate --tasks tasks.jsonl --out judgments.jsonl --annotator sim-1 --seed 1",
                    "  align4j label simulate --tasks tasks.jsonl --out judgments.jsonl --annotator sim-2 --seed 2",
                    "  align4j label agreement --in judgments.jsonl --tasks tasks.jsonl     (about 75%% at 0.07)"})
    static final class Simulate implements Callable<Integer> {
        @Option(names = "--tasks", required = true, description = "task file from label prepare")
        Path tasks;
        @Option(names = "--out", required = true, description = "judgments file (JSONL, append-only; shared with people)")
        Path out;
        @Option(names = "--annotator", required = true, description = "the simulated annotator's name")
        String annotator;
        @Option(names = "--judge", defaultValue = "sentiment",
                description = "the judge: sentiment, regex:PATTERN or length:N (default: ${DEFAULT-VALUE})")
        String judge;
        @Range(min = 0, max = 100)
        @Option(names = "--temperature", defaultValue = "0.07",
                description = "noise scale; 0 ranks by the judge alone (default: ${DEFAULT-VALUE})")
        double temperature;
        @Range()
        @Option(names = "--seed", defaultValue = "0", description = "the annotator's noise (default: ${DEFAULT-VALUE})")
        long seed;

        @Override
        public Integer call() throws Exception {
            OutputCheck.of("--out", out).input("--tasks", tasks).checkAppendsTo(PathKind.JUDGMENTS);
            List<LabelTask> all = LabelTask.read(tasks);
            SimulatedAnnotator a = new SimulatedAnnotator(RewardFunction.parse(judge, "--judge"), temperature, seed,
                    annotator);
            int n;
            try (WriterLock lock = new JudgmentStore(out).lock(annotator)) {
                n = a.judge(all, out);
            }
            System.err.printf("%s: %d task(s) judged by %s now, %d already (%s, temperature %s)%n", out, n, annotator,
                    all.size() - n, judge, temperature);
            return 0;
        }
    }

    @Command(name = "stats", mixinStandardHelpOptions = true,
            description = "Judgments per annotator, time per judgment, flags, ties, retractions.",
            footer = {"", "Example:", "  align4j label stats --in judgments.jsonl"})
    static final class Stats implements Callable<Integer> {
        @Option(names = "--in", required = true, arity = "1..*", description = "judgment files (one or several annotators)")
        List<Path> in;

        @Override
        public Integer call() throws Exception {
            JudgmentStore.Contents c = JudgmentStore.readInputs(in);
            Map<String, long[]> per = new TreeMap<>(); // judged, flagged, ties, retracted
            Map<String, List<Double>> seconds = new TreeMap<>();
            for (Judgment j : c.judgments()) {
                long[] s = per.computeIfAbsent(j.annotator(), a -> new long[4]);
                if (c.retracted().contains(j.id())) {
                    s[3]++;
                    continue;
                }
                s[0]++;
                s[1] += j.flagged() ? 1 : 0;
                s[2] += j.ranking() != null && j.ranking().hasTies() ? 1 : 0;
                seconds.computeIfAbsent(j.annotator(), a -> new ArrayList<>()).add(j.seconds());
            }
            PrintStream o = Console.stdout();
            o.printf("%-16s %8s %8s %8s %10s %12s %12s%n", "ANNOTATOR", "JUDGED", "FLAGGED", "TIES", "RETRACTED",
                    "MEDIAN_S", "MEAN_S");
            for (Map.Entry<String, long[]> e : per.entrySet()) {
                List<Double> s = new ArrayList<>(seconds.getOrDefault(e.getKey(), List.of()));
                s.sort(null);
                double median = s.isEmpty() ? 0 : s.get(s.size() / 2);
                double mean = s.stream().mapToDouble(Double::doubleValue).average().orElse(0);
                long[] v = e.getValue();
                o.printf("%-16s %8d %8d %8d %10d %12.1f %12.1f%n", e.getKey(), v[0], v[1], v[2], v[3], median, mean);
            }
            if (c.tornLines() > 0) {
                o.printf("(%d torn line(s) from an interrupted write were ignored)%n", c.tornLines());
            }
            return 0;
        }
    }
}
