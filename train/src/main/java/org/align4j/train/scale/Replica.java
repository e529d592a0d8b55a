package org.align4j.train.scale;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.kernels.Kernels;
import org.align4j.core.util.Json;
import org.align4j.train.Objective;

/**
 * How an executor rebuilds a stage's objective for data-parallel steps: the run's settings (its
 * {@code config.json}), the settings that name files an executor must read (shipped to executors
 * that do not share the driver's disk), and the stage's own builder. The stage stays the one
 * place that knows its objective; the executor's copy differs only in having no validation data
 * and no run directory, because it never evaluates or writes.
 *
 * @param settings     the run's resolved settings as JSON text
 * @param fileSettings the keys of {@code settings} whose values are files or directories to read
 * @param builder      builds the stage's objective from the settings as the executor sees them
 */
public record Replica(String settings, List<String> fileSettings, Builder builder) implements Serializable {

    /** The stage's constructor as a value that travels: a static method or a small record of the stage. */
    @FunctionalInterface
    public interface Builder extends Serializable {
        Objective build(ObjectNode settings, Kernels kernels) throws IOException;
    }

    public Replica {
        fileSettings = List.copyOf(fileSettings);
    }

    /** A replica from a stage's settings; the files are {@code model}, {@code adapter}, {@code train_file}, {@code extra}. */
    public static Replica of(ObjectNode settings, Builder builder, String... extra) {
        List<String> files = new ArrayList<>(List.of("model", "adapter", "train_file"));
        files.addAll(List.of(extra));
        return new Replica(settings.toString(), files, builder);
    }

    /** The files to ship, by setting key (settings left unset are not shipped). */
    public Map<String, Path> files() {
        ObjectNode s = parse();
        Map<String, Path> out = new LinkedHashMap<>();
        for (String k : fileSettings) {
            JsonNode v = s.path(k);
            if (v.isTextual()) {
                out.put(k, Path.of(v.asText()));
            }
        }
        return out;
    }

    /** Builds the objective on an executor: file settings point to the shipped copies; no validation, no run directory. */
    public Objective build(Cluster.Shipped shipped, Kernels kernels) throws IOException {
        ObjectNode s = settingsAt(shipped);
        s.putNull("val_file");
        s.putNull("output_dir");
        return builder.build(s, kernels);
    }

    /** The settings as an executor sees them: the file settings point to the shipped copies. */
    public ObjectNode settingsAt(Cluster.Shipped shipped) {
        ObjectNode s = parse();
        for (String k : fileSettings) {
            if (s.path(k).isTextual()) {
                Path local = shipped.path(k);
                if (local != null) {
                    s.put(k, local.toString());
                }
            }
        }
        return s;
    }

    private ObjectNode parse() {
        try {
            return (ObjectNode) Json.MAPPER.readTree(settings);
        } catch (IOException e) {
            throw new IllegalStateException("a replica's settings are not JSON", e);
        }
    }
}
