package org.align4j.serve.web;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;

import org.align4j.core.util.Json;
import org.align4j.serve.ApiError;
import org.align4j.serve.Routes;
import org.align4j.serve.ServeConfig;

/**
 * The web pages of {@code align4j serve} and the JSON API under {@code /api} they run on:
 * labeling ({@code /api/label/...}), runs and reports ({@code /api/runs...}). Pages are HTML shells
 * with no data in them (so they are served without the key); their scripts fetch everything from
 * the API with the key the login page keeps in sessionStorage. Jobs and Playground pages use the
 * OpenAI routes under {@code /v1} directly.
 */
public final class WebRoutes implements Routes {

    private final LabelDesk label;
    private final RunsDesk runs;
    private final boolean keyed;
    private final ScheduledExecutorService sweeper;

    public WebRoutes(ServeConfig config) {
        this(config.dataDir(), config.apiKey() != null);
    }

    WebRoutes(Path dataDir, boolean keyed) {
        this.label = new LabelDesk(dataDir);
        this.runs = new RunsDesk(dataDir);
        this.keyed = keyed;
        this.sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "align4j-label-idle");
            t.setDaemon(true);
            return t;
        });
    }

    @Override
    public void register(RoutesConfig r) {
        sweeper.scheduleWithFixedDelay(() -> label.releaseIdle(System.nanoTime()), 1, 1, TimeUnit.MINUTES);
        // pages
        r.get("/", ctx -> page(ctx, "Home", "home", "home.html"));
        r.get("/login", ctx -> page(ctx, "Log in", "login", "login.html"));
        r.get("/label", ctx -> page(ctx, "Labeling", "label", "label-list.html"));
        r.get("/label/{name}", ctx -> page(ctx, "Labeling", "label", "label.html"));
        r.get("/runs", ctx -> page(ctx, "Runs", "runs", "runs.html"));
        r.get("/runs/view", ctx -> page(ctx, "Run", "runs", "run.html"));
        r.get("/reports/view", ctx -> page(ctx, "Report", "runs", "report.html"));
        r.get("/jobs", ctx -> page(ctx, "Jobs", "jobs", "jobs.html"));
        r.get("/jobs/new", ctx -> page(ctx, "New job", "jobs", "job-new.html"));
        r.get("/jobs/{id}", ctx -> page(ctx, "Job", "jobs", "job.html"));
        r.get("/playground", ctx -> page(ctx, "Playground", "playground", "playground.html"));
        r.get("/static/{file}", this::asset);

        // the JSON API of the pages, for scripts too (documented in the README's "Web pages")
        r.get("/api/whoami", ctx -> ctx.json(Map.of("ok", true, "keyed", keyed)));
        r.get("/api/label/tasksets", ctx -> ctx.json(Map.of("object", "list", "data", label.list())));
        r.get("/api/label/tasksets/{name}/next", ctx -> ctx.json(label.next(ctx.pathParam("name"),
                ctx.queryParam("annotator"))));
        r.post("/api/label/tasksets/{name}/judgments", ctx -> ctx.json(label.submit(ctx.pathParam("name"), body(ctx))));
        r.post("/api/label/tasksets/{name}/skip", ctx -> ctx.json(label.skip(ctx.pathParam("name"), body(ctx))));
        r.post("/api/label/tasksets/{name}/undo", ctx -> ctx.json(label.undo(ctx.pathParam("name"), body(ctx))));
        r.post("/api/label/tasksets/{name}/release", ctx -> ctx.json(label.release(ctx.pathParam("name"), body(ctx))));
        r.get("/api/label/tasksets/{name}/agreement", ctx -> ctx.json(label.agreement(ctx.pathParam("name"))));
        r.get("/api/runs", ctx -> ctx.json(runs.list()));
        r.get("/api/runs/run", ctx -> ctx.json(runs.run(ctx.queryParam("path"))));
        r.get("/api/runs/report", ctx -> ctx.contentType("text/html; charset=utf-8").result(runs.report(ctx.queryParam("path"))));
    }

    private static JsonNode body(Context ctx) throws IOException {
        String b = ctx.body();
        if (b.isBlank()) {
            throw ApiError.invalid(null, "the request needs a JSON body");
        }
        JsonNode n = Json.MAPPER.readTree(b);
        if (!n.isObject()) {
            throw ApiError.invalid(null, "the JSON body must be an object");
        }
        return n;
    }

    /** Scripts and styles are only the page's own files: never their own content security exceptions. */
    static final String CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline';"
            + " script-src 'self'; connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none';"
            + " form-action 'self'";

    private void page(Context ctx, String title, String nav, String body) throws IOException {
        ctx.header("Content-Security-Policy", CSP);
        ctx.header("X-Content-Type-Options", "nosniff");
        ctx.header("Cache-Control", "no-store");
        ctx.contentType("text/html; charset=utf-8").result(Pages.render(title, nav, body, keyed));
    }

    /** The module's own assets and uPlot from its WebJar; nothing else on the classpath is reachable. */
    private static final Map<String, String[]> ASSETS = Map.ofEntries(
            Map.entry("app.css", new String[] {"/org/align4j/serve/web/static/app.css", "text/css"}),
            Map.entry("app.js", new String[] {"/org/align4j/serve/web/static/app.js", "text/javascript"}),
            Map.entry("label.js", new String[] {"/org/align4j/serve/web/static/label.js", "text/javascript"}),
            Map.entry("label-list.js", new String[] {"/org/align4j/serve/web/static/label-list.js", "text/javascript"}),
            Map.entry("login.js", new String[] {"/org/align4j/serve/web/static/login.js", "text/javascript"}),
            Map.entry("runs.js", new String[] {"/org/align4j/serve/web/static/runs.js", "text/javascript"}),
            Map.entry("run.js", new String[] {"/org/align4j/serve/web/static/run.js", "text/javascript"}),
            Map.entry("report.js", new String[] {"/org/align4j/serve/web/static/report.js", "text/javascript"}),
            Map.entry("jobs.js", new String[] {"/org/align4j/serve/web/static/jobs.js", "text/javascript"}),
            Map.entry("job.js", new String[] {"/org/align4j/serve/web/static/job.js", "text/javascript"}),
            Map.entry("job-new.js", new String[] {"/org/align4j/serve/web/static/job-new.js", "text/javascript"}),
            Map.entry("playground.js", new String[] {"/org/align4j/serve/web/static/playground.js", "text/javascript"}),
            Map.entry("chart.js", new String[] {"/org/align4j/serve/web/static/chart.js", "text/javascript"}),
            Map.entry("uplot.js", new String[] {"/META-INF/resources/webjars/uplot/1.6.30/dist/uPlot.iife.min.js",
                    "text/javascript"}),
            Map.entry("uplot.css", new String[] {"/META-INF/resources/webjars/uplot/1.6.30/dist/uPlot.min.css",
                    "text/css"}));

    private void asset(Context ctx) throws IOException {
        String[] a = ASSETS.get(ctx.pathParam("file"));
        if (a == null) {
            throw ApiError.notFound(null, "no such file: " + ctx.path());
        }
        try (InputStream in = WebRoutes.class.getResourceAsStream(a[0])) {
            if (in == null) {
                throw ApiError.notFound(null, "no such file: " + ctx.path());
            }
            ctx.header("X-Content-Type-Options", "nosniff");
            ctx.header("Cache-Control", "no-cache");
            ctx.contentType(a[1] + "; charset=utf-8").result(in.readAllBytes());
        }
    }

    @Override
    public void close() {
        sweeper.shutdownNow();
        label.close();
    }
}
