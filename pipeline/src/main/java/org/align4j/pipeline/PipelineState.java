package org.align4j.pipeline;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import org.align4j.core.util.AtomicFiles;
import org.align4j.core.util.Json;

/**
 * Which stages of a pipeline have finished and how long each took (summed over attempts), in
 * {@code state.json}, rewritten atomically after every change so a killed pipeline knows where it was.
 */
final class PipelineState {

    /** One stage: finished or not, and its seconds so far. */
    record StageState(boolean done, double seconds) {
    }

    private final Path file;
    private Map<String, StageState> stages = new LinkedHashMap<>();

    PipelineState(Path file) {
        this.file = file;
    }

    void load() throws IOException {
        if (Files.exists(file)) {
            stages = new LinkedHashMap<>(Json.MAPPER.readerForMapOf(StageState.class).readValue(file.toFile()));
        }
    }

    boolean done(String stage) {
        StageState s = stages.get(stage);
        return s != null && s.done();
    }

    double seconds(String stage) {
        StageState s = stages.get(stage);
        return s == null ? 0 : s.seconds();
    }

    /** Time spent on an attempt that did not finish. */
    void add(String stage, double seconds) throws IOException {
        stages.put(stage, new StageState(false, seconds(stage) + seconds));
        save();
    }

    void finish(String stage, double totalSeconds) throws IOException {
        stages.put(stage, new StageState(true, totalSeconds));
        save();
    }

    Map<String, StageState> stages() {
        return new LinkedHashMap<>(stages);
    }

    private void save() throws IOException {
        AtomicFiles.writeString(file, Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(stages) + "\n");
    }
}
