package org.align4j.pipeline;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.util.AtomicFiles;
import org.align4j.core.util.Json;
import org.align4j.data.jsonl.JsonlReader;
import org.align4j.pipeline.report.Charts;
import org.knowm.xchart.internal.chartpart.Chart;

/**
 * {@code report.json} (every figure, machine-readable) and {@code report.html}: one self-contained
 * page (images embedded as data URIs, no script, no external reference) with the policies' table,
 * the gold scores and the reward-KL frontier, the reward model's accuracy against the annotators'
 * ceiling, example responses side by side, each stage's training curves, and the time of each stage.
 */
final class PipelineReport {

    /** What the report shows, gathered by the pipeline. */
    record Inputs(Path out, Path configFile, PipelineConfig cfg, PipelineState state, Labels.Summary labels,
                  ObjectNode rewardModel, List<PolicyComparison.Result> results, Map<String, String> kinds,
                  Map<String, Path> curveRuns) {
    }

    private static final Map<String, String> KIND_TITLES = Map.of("sft", "SFT", "ppo", "PPO", "ppo-ptx", "PPO-ptx",
            "dpo", "DPO", "kto", "KTO", "online-dpo", "online DPO", "other", "other");

    private static final Set<String> MAIN_POLICIES = Set.of("ppo", "ppo-ptx", "dpo", "kto", "online-dpo");

    private PipelineReport() {
    }

    /** Writes both files and returns the HTML's path. */
    static Path write(Inputs in, PrintStream log) throws IOException {
        ObjectNode json = json(in);
        AtomicFiles.writeString(in.out().resolve("report.json"),
                Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(json) + "\n");
        Path html = in.out().resolve("report.html");
        AtomicFiles.writeString(html, html(in));
        log.printf("  %s and %s%n", in.out().resolve("report.json"), html);
        return html;
    }

    static ObjectNode json(Inputs in) {
        ObjectNode root = Json.MAPPER.createObjectNode();
        root.put("created", Instant.now().toString());
        root.put("config", in.configFile().toString());
        ObjectNode stages = root.putObject("stage_seconds");
        double total = 0;
        for (Map.Entry<String, PipelineState.StageState> e : in.state().stages().entrySet()) {
            if (!e.getKey().startsWith("eval:")) {
                stages.put(e.getKey(), round(e.getValue().seconds()));
                total += e.getValue().seconds();
            }
        }
        root.put("total_seconds", round(total));
        root.set("labels", Json.MAPPER.valueToTree(in.labels()));
        root.set("reward_model", in.rewardModel());
        ObjectNode policies = PolicyComparison.toJson(in.results());
        for (PolicyComparison.Result r : in.results()) {
            ObjectNode p = (ObjectNode) policies.get(r.name());
            p.put("kind", in.kinds().getOrDefault(r.name(), "other"));
            p.put("samples", in.out().toAbsolutePath().normalize().relativize(r.samples().toAbsolutePath().normalize())
                    .toString());
        }
        root.set("policies", policies);
        return root;
    }

    private static double round(double v) {
        return Math.round(v * 10) / 10.0;
    }

    // ---------------------------------------------------------------- HTML

    static String html(Inputs in) throws IOException {
        StringBuilder h = new StringBuilder();
        h.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n")
                .append("<title>align4j pipeline report</title>\n<style>\n")
                .append("body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1180px;color:#222}\n")
                .append("table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:4px 8px;")
                .append("vertical-align:top}th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:")
                .append("tabular-nums}.ex td{font-size:13px;max-width:260px}.score{color:#666;font-size:12px}")
                .append("\nimg{margin:4px;border:1px solid #eee}h2{margin-top:32px;border-bottom:1px solid #ddd}\n")
                .append("</style>\n</head>\n<body>\n");
        h.append("<h1>Alignment report: positive stories</h1>\n<p>Config <code>").append(esc(in.configFile().toString()))
                .append("</code>, base model <code>").append(esc(in.cfg().baseModel())).append("</code>, seed ")
                .append(in.cfg().seed()).append(". Every policy answers the ")
                .append(in.results().isEmpty() ? 0 : in.results().get(0).n())
                .append(" held-out prompts (never seen in training) at temperature 1 with the same seed; the gold")
                .append(" judge (").append(esc(in.cfg().annotators().judge())).append(") scores each response; KL")
                .append(" is to the SFT model, in nats per response.</p>\n");
        headline(h, in);
        policyTable(h, in);
        List<String> names = new ArrayList<>();
        List<Double> gold = new ArrayList<>();
        List<Double> ci = new ArrayList<>();
        for (PolicyComparison.Result r : in.results()) {
            names.add(r.name());
            gold.add(r.goldScore());
            ci.add(r.goldCi95());
        }
        if (!names.isEmpty()) {
            img(h, Charts.goldScores(names, gold, ci), "gold scores");
            img(h, Charts.frontier(frontierPoints(in)), "reward-KL frontier");
        }
        rewardModel(h, in);
        examples(h, in);
        h.append("<h2 id=\"curves\">Training curves</h2>\n");
        for (Map.Entry<String, Path> e : in.curveRuns().entrySet()) {
            if (Files.isDirectory(e.getValue())) {
                h.append("<h3>").append(esc(e.getKey())).append(" <span class=\"score\">")
                        .append(esc(in.out().relativize(e.getValue()).toString())).append("</span></h3>\n");
                for (var c : Charts.runCurves(e.getValue(), e.getKey())) {
                    img(h, c, e.getKey() + " curve");
                }
                h.append("\n");
            }
        }
        stageTable(h, in);
        h.append("<p class=\"score\">Written by align4j on ").append(esc(Instant.now().toString()))
                .append("; figures in report.json, samples in eval/.</p>\n</body>\n</html>\n");
        return h.toString();
    }

    private static void headline(StringBuilder h, Inputs in) {
        PolicyComparison.Result sft = find(in, "sft");
        if (sft == null) {
            return;
        }
        h.append("<p><b>");
        for (PolicyComparison.Result r : in.results()) {
            if (!MAIN_POLICIES.contains(r.name())) {
                continue;
            }
            boolean beats = r.goldScore() - r.goldCi95() > sft.goldScore() + sft.goldCi95();
            h.append(esc(r.name())).append(String.format(Locale.ROOT, ": %.3f ± %.3f against SFT's %.3f ± %.3f (%s),"
                            + " at KL %.2f. ", r.goldScore(), r.goldCi95(), sft.goldScore(), sft.goldCi95(),
                    beats ? "better, intervals apart" : "intervals overlap", r.kl()));
        }
        h.append("</b></p>\n");
    }

    private static PolicyComparison.Result find(Inputs in, String name) {
        return in.results().stream().filter(r -> r.name().equals(name)).findFirst().orElse(null);
    }

    private static void policyTable(StringBuilder h, Inputs in) {
        h.append("<h2 id=\"policies\">Policies</h2>\n<table>\n<tr><th>policy</th><th>gold score (95% CI)</th><th>win rate vs SFT</th>")
                .append("<th>reward model</th><th>KL to SFT (95% CI)</th><th>distinct-2</th><th>repetition rate</th>")
                .append("<th>mean tokens</th><th>samples</th></tr>\n");
        for (PolicyComparison.Result r : in.results()) {
            h.append("<tr><td>").append(esc(r.name())).append("</td>")
                    .append(num("%.3f ± %.3f", r.goldScore(), r.goldCi95()))
                    .append(num("%.1f%%", 100 * r.winRate()))
                    .append(r.rmScore() == null ? "<td>-</td>" : num("%.3f", r.rmScore()))
                    .append(num("%.2f ± %.2f", r.kl(), r.klCi95()))
                    .append(num("%.3f", r.distinct2())).append(num("%.1f%%", 100 * r.repetitionRate()))
                    .append(num("%.1f", r.meanTokens())).append("<td><code>")
                    .append(esc("eval/" + r.samples().getFileName())).append("</code></td></tr>\n");
        }
        h.append("</table>\n");
    }

    private static Map<String, double[]> frontierPoints(Inputs in) {
        Map<String, List<PolicyComparison.Result>> byKind = new LinkedHashMap<>();
        for (PolicyComparison.Result r : in.results()) {
            String kind = in.kinds().getOrDefault(r.name(), "other");
            String title = kind.equals("other") ? r.name() : KIND_TITLES.get(kind);
            byKind.computeIfAbsent(title, k -> new ArrayList<>()).add(r);
        }
        Map<String, double[]> points = new LinkedHashMap<>();
        byKind.forEach((k, rs) -> {
            rs.sort(Comparator.comparingDouble(PolicyComparison.Result::kl));
            double[] v = new double[3 * rs.size()];
            for (int i = 0; i < rs.size(); i++) {
                v[3 * i] = rs.get(i).kl();
                v[3 * i + 1] = rs.get(i).goldScore();
                v[3 * i + 2] = rs.get(i).goldCi95();
            }
            points.put(k, v);
        });
        return points;
    }

    private static void rewardModel(StringBuilder h, Inputs in) throws IOException {
        JsonNode rm = in.rewardModel();
        Labels.Summary l = in.labels();
        h.append("<h2 id=\"labels\">Labels and the reward model</h2>\n<p>").append(l.judgments()).append(" judgments of ")
                .append(l.tasks()).append(" tasks by ").append(esc(String.join(", ", l.annotators()))).append("; ")
                .append(l.trainTasks()).append(" training and ").append(l.valTasks())
                .append(" validation tasks. The reward model's pairwise accuracy on the validation tasks, against")
                .append(" the annotators' labels and against the gold judge, next to the annotators' agreement with")
                .append(" each other (the usual ceiling) and with the judge.</p>\n");
        Map<String, Double> acc = new LinkedHashMap<>();
        acc.put("RM vs labels", value(rm, "label_accuracy"));
        acc.put("annotator vs annotator", l.agreement());
        acc.put("RM vs judge", value(rm, "judge_accuracy"));
        acc.put("annotator vs judge", l.annotatorJudgeAgreement());
        h.append("<table>\n<tr><th>measure</th><th>pairwise accuracy</th></tr>\n");
        acc.forEach((k, v) -> h.append("<tr><td>").append(esc(k)).append("</td>")
                .append(v == null ? "<td>n/a</td>" : num("%.1f%%", 100 * v)).append("</tr>\n"));
        h.append("</table>\n");
        img(h, Charts.accuracies("Reward model against the ceiling", acc), "reward model accuracy");
    }

    private static Double value(JsonNode o, String key) {
        return o != null && o.hasNonNull(key) ? o.get(key).asDouble() : null;
    }

    private static void examples(StringBuilder h, Inputs in) throws IOException {
        int n = in.cfg().eval().examples();
        if (n == 0 || in.results().isEmpty()) {
            return;
        }
        Map<String, List<JsonNode>> rows = new LinkedHashMap<>();
        for (PolicyComparison.Result r : in.results()) {
            List<JsonNode> first = new ArrayList<>();
            try (JsonlReader reader = new JsonlReader(r.samples())) {
                JsonlReader.Line line;
                while (first.size() < n && (line = reader.next()) != null) {
                    if (line.ok()) {
                        first.add(line.json());
                    }
                }
            }
            rows.put(r.name(), first);
        }
        h.append("<h2 id=\"examples\">Example responses</h2>\n<p>The first ").append(n)
                .append(" held-out prompts; each cell is a policy's response with its gold score and KL.</p>\n")
                .append("<table class=\"ex\">\n<tr><th>prompt</th>");
        rows.keySet().forEach(k -> h.append("<th>").append(esc(k)).append("</th>"));
        h.append("</tr>\n");
        List<JsonNode> anyRows = rows.values().iterator().next();
        for (int i = 0; i < anyRows.size(); i++) {
            h.append("<tr><td>").append(esc(anyRows.get(i).path("prompt").asText())).append("</td>");
            for (List<JsonNode> r : rows.values()) {
                JsonNode x = i < r.size() ? r.get(i) : null;
                h.append("<td>");
                if (x != null) {
                    h.append(esc(x.path("response").asText())).append("<br /><span class=\"score\">")
                            .append(String.format(Locale.ROOT, "gold %.2f, KL %.1f", x.path("gold_score").asDouble(),
                                    // rounded first, so a log-ratio of -0.001 shows as 0.0, not -0.0
                                    Math.round(x.path("kl").asDouble() * 10) / 10.0 + 0.0)).append("</span>");
                }
                h.append("</td>");
            }
            h.append("</tr>\n");
        }
        h.append("</table>\n");
    }

    private static void stageTable(StringBuilder h, Inputs in) {
        h.append("<h2 id=\"times\">Time of each stage</h2>\n<table>\n<tr><th>stage</th><th>seconds</th></tr>\n");
        double total = 0;
        for (Map.Entry<String, PipelineState.StageState> e : in.state().stages().entrySet()) {
            if (!e.getKey().startsWith("eval:")) {
                h.append("<tr><td>").append(esc(e.getKey())).append("</td>")
                        .append(num("%.1f", e.getValue().seconds())).append("</tr>\n");
                total += e.getValue().seconds();
            }
        }
        h.append("<tr><th>total</th>").append(num("%.1f", total)).append("</tr>\n</table>\n");
    }

    private static void img(StringBuilder h, Chart<?, ?> chart, String alt) throws IOException {
        h.append("<img alt=\"").append(esc(alt)).append("\" width=\"").append(Charts.WIDTH).append("\" height=\"")
                .append(Charts.HEIGHT).append("\" src=\"data:image/png;base64,")
                .append(Base64.getEncoder().encodeToString(Charts.png(chart))).append("\" />\n");
    }

    private static String num(String format, Object... args) {
        return "<td class=\"n\">" + esc(String.format(Locale.ROOT, format, args)) + "</td>";
    }

    static String esc(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }
}
