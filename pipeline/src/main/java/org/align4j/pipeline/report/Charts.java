package org.align4j.pipeline.report;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import javax.imageio.ImageIO;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.run.RunDirectory;
import org.align4j.core.util.UserInputException;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.AxesChartStyler;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The charts of the report and of {@code runs plot}, drawn by XChart into PNG images: a run's
 * training curves (every group of metrics it logged), the policies' gold scores with their 95%
 * intervals, the reward-KL frontier, and the reward model's accuracy next to the annotators'.
 */
public final class Charts {

    static {
        // charts are drawn off-screen: no display is needed, nor wanted on a server
        System.setProperty("java.awt.headless", "true");
    }

    public static final int WIDTH = 560;
    public static final int HEIGHT = 320;

    /** Metrics drawn together under a title, in this order; a group is drawn when the run logged any of them. */
    private record Group(String title, List<String> metrics) {
    }

    private static final List<Group> GROUPS = List.of(
            new Group("loss", List.of("loss", "val_loss")),
            new Group("accuracy", List.of("accuracy", "val_accuracy")),
            new Group("reward margin", List.of("rewards/margins", "val_rewards/margins")),
            new Group("implicit-reward accuracy", List.of("rewards/accuracies", "val_rewards/accuracies")),
            new Group("score", List.of("objective/scores", "objective/rlhf_reward")),
            new Group("KL to reference", List.of("objective/kl")),
            new Group("PPO losses", List.of("loss/policy_avg", "loss/value_avg", "loss/ptx_avg")),
            new Group("ranking", List.of("val_kendall_tau", "val_top1_accuracy")));

    private static final Color[] PALETTE = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c),
            new Color(0xd62728), new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f),
            new Color(0xbcbd22), new Color(0x17becf)};

    private Charts() {
    }

    /** One chart per group of metrics the run logged, against the step (PPO: the iteration). */
    public static List<XYChart> runCurves(Path runDir, String title) throws IOException {
        return runCurves(runDir, title, warning -> { });
    }

    /**
     * As {@link #runCurves(Path, String)}; a value that is not a finite number (NaN, Infinity, a
     * string) is left out of its curve and reported to {@code warnings} as FILE:LINE.
     */
    public static List<XYChart> runCurves(Path runDir, String title, Consumer<String> warnings) throws IOException {
        RunDirectory run = new RunDirectory(runDir);
        if (!run.exists()) {
            throw new UserInputException(runDir + ": not a run directory (no events.jsonl or config.json)");
        }
        List<RunDirectory.Row> rows = run.metricRows();
        List<XYChart> charts = new ArrayList<>();
        for (Group group : GROUPS) {
            XYChart c = null;
            for (String metric : group.metrics()) {
                List<Double> x = new ArrayList<>();
                List<Double> y = new ArrayList<>();
                String firstBad = null;
                int bad = 0;
                for (RunDirectory.Row row : rows) {
                    JsonNode r = row.json();
                    JsonNode v = r.get(metric);
                    if (v == null || v.isNull() || !r.has("step")) {
                        continue;
                    }
                    if (v.isNumber() && Double.isFinite(v.asDouble())) {
                        x.add(r.get("step").asDouble());
                        y.add(v.asDouble());
                    } else if (bad++ == 0) {
                        firstBad = run.metricsFile() + ":" + row.line() + ": " + metric + " is "
                                + (v.isNumber() ? String.valueOf(v.asDouble()) : v.toString())
                                + ", not a finite number";
                    }
                }
                if (bad > 0) {
                    warnings.accept(firstBad + (bad > 1 ? " (and on " + (bad - 1) + " more line(s))" : "")
                            + "; left out of the plot");
                }
                if (x.isEmpty()) {
                    continue;
                }
                if (c == null) {
                    c = xy(title + ": " + group.title(), "step", group.title());
                }
                XYSeries s = c.addSeries(metric, x, y);
                s.setMarker(x.size() > 30 ? SeriesMarkers.NONE : SeriesMarkers.CIRCLE);
            }
            if (c != null) {
                charts.add(c);
            }
        }
        return charts;
    }

    /** The policies' mean gold scores as bars with 95% intervals. */
    public static CategoryChart goldScores(List<String> names, List<Double> gold, List<Double> ci95) {
        CategoryChart c = new CategoryChartBuilder().width(WIDTH).height(HEIGHT)
                .title("Gold score on held-out prompts (95% CI)").xAxisTitle("policy").yAxisTitle("gold score")
                .build();
        style(c.getStyler());
        c.getStyler().setLegendVisible(false);
        // XChart drops every other category label once they no longer fit side by side
        c.getStyler().setXAxisLabelRotation(names.size() > 5 ? 30 : 0);
        c.addSeries("gold score", names, gold, ci95);
        return c;
    }

    /** One point per policy, gold score against KL to the SFT model; points of one kind joined by KL. */
    public static XYChart frontier(Map<String, double[]> pointsByKind) {
        XYChart c = xy("Reward-KL frontier", "KL to SFT (nats per response)", "gold score");
        int i = 0;
        for (Map.Entry<String, double[]> e : pointsByKind.entrySet()) {
            double[] v = e.getValue();
            int n = v.length / 3;
            double[] x = new double[n];
            double[] y = new double[n];
            double[] err = new double[n];
            for (int k = 0; k < n; k++) {
                x[k] = v[3 * k];
                y[k] = v[3 * k + 1];
                err[k] = v[3 * k + 2];
            }
            XYSeries s = c.addSeries(e.getKey(), x, y, err);
            s.setMarker(SeriesMarkers.CIRCLE);
            if (n < 2) {
                s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
            }
            s.setMarkerColor(PALETTE[i % PALETTE.length]);
            s.setLineColor(PALETTE[i % PALETTE.length]);
            i++;
        }
        return c;
    }

    /** Named accuracies (0..1) as bars, in percent. */
    public static CategoryChart accuracies(String title, Map<String, Double> values) {
        CategoryChart c = new CategoryChartBuilder().width(WIDTH).height(HEIGHT).title(title)
                .yAxisTitle("pairwise accuracy (%)").build();
        c.getStyler().setXAxisLabelRotation(12);
        style(c.getStyler());
        c.getStyler().setLegendVisible(false);
        c.getStyler().setYAxisMin(0.0);
        c.getStyler().setYAxisMax(100.0);
        Map<String, Double> kept = new LinkedHashMap<>();
        values.forEach((k, v) -> {
            if (v != null) {
                kept.put(k, 100 * v);
            }
        });
        c.addSeries("accuracy", new ArrayList<>(kept.keySet()), new ArrayList<>(kept.values()));
        return c;
    }

    public static byte[] png(Chart<?, ?> chart) throws IOException {
        return BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
    }

    /** Charts side by side, {@code columns} to a row, as one PNG. */
    public static byte[] grid(List<? extends Chart<?, ?>> charts, int columns) throws IOException {
        int cols = Math.max(1, Math.min(columns, charts.size()));
        int rows = (charts.size() + cols - 1) / cols;
        BufferedImage all = new BufferedImage(cols * WIDTH, Math.max(1, rows) * HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = all.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, all.getWidth(), all.getHeight());
        for (int i = 0; i < charts.size(); i++) {
            g.drawImage(BitmapEncoder.getBufferedImage(charts.get(i)), (i % cols) * WIDTH, (i / cols) * HEIGHT, null);
        }
        g.dispose();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(all, "png", out);
        return out.toByteArray();
    }

    private static XYChart xy(String title, String xTitle, String yTitle) {
        XYChart c = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(xTitle)
                .yAxisTitle(yTitle).build();
        style(c.getStyler());
        c.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
        // outside the plot, where it cannot hide a point
        c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        c.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);
        c.getStyler().setMarkerSize(5);
        return c;
    }

    private static void style(Styler s) {
        s.setChartBackgroundColor(Color.WHITE);
        s.setPlotBackgroundColor(Color.WHITE);
        s.setLegendPosition(Styler.LegendPosition.InsideNE);
        s.setSeriesColors(PALETTE);
        s.setAntiAlias(true);
        if (s instanceof AxesChartStyler a) {
            a.setYAxisDecimalPattern("#,##0.####");
        }
    }
}
