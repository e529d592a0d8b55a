package org.align4j.serve.web;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.run.Checkpoints;
import org.align4j.core.run.RunDirectory;
import org.align4j.core.util.Json;
import org.align4j.serve.ApiError;

/**
 * The run directories and pipeline reports under the data directory, for the Runs pages. A client
 * names a run by its path relative to the data directory; the path is resolved there and refused
 * when it leaves it (also through a symbolic link), so no file outside the data directory is read.
 */
public final class RunsDesk {

    /** How deep runs are looked for (a pipeline's stages sit two levels under its directory). */
    static final int DEPTH = 5;
    private static final Set<String> SKIP = Set.of("checkpoints", "best", "final", "label");

    private final Path dataDir;

    public RunsDesk(Path dataDir) {
        this.dataDir = dataDir;
    }

    /** Runs (with status and last metrics) and reports, sorted by path. */
    public ObjectNode list() throws IOException {
        ObjectNode o = Json.MAPPER.createObjectNode();
        ArrayNode runs = o.putArray("runs");
        ArrayNode reports = o.putArray("reports");
        if (!Files.isDirectory(dataDir)) {
            return o;
        }
        Path root = dataDir.toRealPath();
        List<Path> dirs = new ArrayList<>();
        // a run's checkpoints and models hold many files and no runs: not entered at all
        Files.walkFileTree(root, Set.of(), DEPTH, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) {
                if (d.equals(root)) {
                    return FileVisitResult.CONTINUE;
                }
                String name = d.getFileName().toString();
                if (SKIP.contains(name) || name.startsWith(".")) {
                    return FileVisitResult.SKIP_SUBTREE;
                }
                dirs.add(d);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path f, IOException e) {
                return FileVisitResult.CONTINUE; // an unreadable directory is left out, not an error
            }
        });
        dirs.sort(null);
        dirs.add(0, root);
        for (Path d : dirs) {
            String rel = rel(root, d);
            RunDirectory run = new RunDirectory(d);
            if (run.exists()) {
                runs.add(summary(rel, run));
            }
            if (Files.isRegularFile(d.resolve("report.html"))) {
                ObjectNode r = reports.addObject();
                r.put("path", rel);
                r.put("modified", Files.getLastModifiedTime(d.resolve("report.html")).toInstant().toString());
            }
        }
        return o;
    }

    private static String rel(Path root, Path d) {
        String r = root.relativize(d).toString();
        return r.isEmpty() ? "." : r;
    }

    private static ObjectNode summary(String rel, RunDirectory run) throws IOException {
        ObjectNode r = Json.MAPPER.createObjectNode();
        r.put("path", rel);
        RunDirectory.Status status = status(run);
        r.put("status", status == null ? null : status.name().toLowerCase(Locale.ROOT));
        List<JsonNode> metrics = run.metrics();
        r.put("logged_steps", metrics.size());
        if (!metrics.isEmpty()) {
            r.set("last", metrics.get(metrics.size() - 1));
        }
        List<JsonNode> events = run.events();
        if (!events.isEmpty()) {
            r.put("updated", events.get(events.size() - 1).path("time").asText());
        }
        return r;
    }

    private static RunDirectory.Status status(RunDirectory run) {
        try {
            return run.status();
        } catch (IOException | IllegalArgumentException e) {
            return null; // an unknown status word: shown as '-', the run is still listed
        }
    }

    /** One run: config, every metrics row, events, checkpoints. */
    public ObjectNode run(String path) throws IOException {
        Path d = resolve(path);
        RunDirectory run = new RunDirectory(d);
        if (!run.exists()) {
            throw ApiError.notFound("path", "'" + path + "' is not a run directory (no events.jsonl or config.json)");
        }
        ObjectNode o = summary(path, run);
        if (Files.isRegularFile(run.configFile())) {
            try {
                o.set("config", Json.MAPPER.readTree(run.configFile().toFile()));
            } catch (IOException e) {
                o.put("config_error", "config.json is not JSON");
            }
        }
        ArrayNode m = o.putArray("metrics");
        run.metrics().forEach(m::add);
        ArrayNode e = o.putArray("events");
        run.events().forEach(e::add);
        ArrayNode c = o.putArray("checkpoints");
        for (Path p : new Checkpoints(run).list()) {
            c.add(p.getFileName().toString());
        }
        o.put("has_report", Files.isRegularFile(d.resolve("report.html")));
        return o;
    }

    /** The {@code report.html} of a pipeline directory. */
    public String report(String path) throws IOException {
        Path f = resolve(path).resolve("report.html");
        if (!Files.isRegularFile(f)) {
            throw ApiError.notFound("path", "no report.html in '" + path + "'");
        }
        return Files.readString(f, StandardCharsets.UTF_8);
    }

    /** A client's relative path, inside the data directory or a 400/404. */
    Path resolve(String path) throws IOException {
        if (path == null || path.isBlank()) {
            throw ApiError.invalid("path", "missing query parameter 'path' (a run's path under the data directory)");
        }
        if (path.startsWith("/") || path.contains("\\") || path.contains("\0")) {
            throw ApiError.invalid("path", "path: a path relative to the data directory, not '" + path + "'");
        }
        if (!Files.isDirectory(dataDir)) {
            throw ApiError.notFound("path", "no run '" + path + "'");
        }
        Path root = dataDir.toRealPath();
        Path p = root.resolve(path).normalize();
        if (!p.startsWith(root)) {
            throw ApiError.invalid("path", "path: '" + path + "' leaves the data directory");
        }
        if (!Files.isDirectory(p)) {
            throw ApiError.notFound("path", "no run '" + path + "'");
        }
        if (!p.toRealPath().startsWith(root)) {
            throw ApiError.invalid("path", "path: '" + path + "' leaves the data directory");
        }
        return p;
    }
}
