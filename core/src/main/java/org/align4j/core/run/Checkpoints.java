package org.align4j.core.run;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.checkpoint.Safetensors;
import org.align4j.core.model.GptModel;
import org.align4j.core.optim.AdamW;
import org.align4j.core.util.AtomicFiles;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Checkpoints under {@code RUN/checkpoints/step-N/}: a full model directory (loadable by every
 * command), {@code optimizer.safetensors} (AdamW moments) and {@code trainer_state.json}. A
 * checkpoint is written into a hidden temporary directory and renamed into place, so a crash
 * leaves either the whole checkpoint or none of it.
 */
public final class Checkpoints {

    public static final String STATE = "trainer_state.json";
    public static final String OPTIMIZER = "optimizer.safetensors";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final RunDirectory run;

    public Checkpoints(RunDirectory run) {
        this.run = run;
    }

    /** Writes the checkpoint of {@code state.step()} and keeps only the newest {@code keepLast} (0: all). */
    public Path save(GptModel model, AdamW optimizer, TrainerState state, Path modelSource, int keepLast)
            throws IOException {
        Path dir = run.checkpointsDir().resolve("step-" + state.step());
        Path tmp = run.checkpointsDir().resolve(".tmp-step-" + state.step());
        deleteTree(tmp);
        writeModel(model, modelSource, tmp);
        Map<String, INDArray> opt = new LinkedHashMap<>();
        opt.put("exp_avg", optimizer.firstMoment());
        opt.put("exp_avg_sq", optimizer.secondMoment());
        Safetensors.write(tmp.resolve(OPTIMIZER), opt, Map.of("step", Long.toString(optimizer.stepCount())));
        ObjectNode s = JSON.valueToTree(state);
        if (!Double.isFinite(state.bestValLoss())) {
            s.putNull("bestValLoss"); // JSON has no infinity
        }
        s.put("optimizer_step", optimizer.stepCount());
        AtomicFiles.writeString(tmp.resolve(STATE), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(s));
        deleteTree(dir);
        moveAtomically(tmp, dir);
        if (keepLast > 0) {
            List<Path> all = list();
            for (int i = 0; i + keepLast < all.size(); i++) {
                deleteTree(all.get(i));
            }
        }
        return dir;
    }

    /** A model directory (weights, config, tokenizer files) at {@code target}, replacing it atomically. */
    public static void writeModel(GptModel model, Path modelSource, Path target) throws IOException {
        Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
        deleteTree(tmp);
        Files.createDirectories(tmp);
        ModelDirectory.save(model, tmp);
        if (modelSource != null) {
            ModelDirectory.copyTokenizerFiles(modelSource, tmp);
            Path template = modelSource.resolve(org.align4j.core.chat.ChatTemplate.FILE);
            if (Files.isRegularFile(template)) {
                Files.copy(template, tmp.resolve(template.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        Path old = target.resolveSibling("." + target.getFileName() + ".old");
        deleteTree(old);
        if (Files.exists(target)) {
            moveAtomically(target, old);
        }
        moveAtomically(tmp, target);
        deleteTree(old);
    }

    /** Complete checkpoints, oldest first. */
    public List<Path> list() throws IOException {
        if (!Files.isDirectory(run.checkpointsDir())) {
            return List.of();
        }
        List<Path> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(run.checkpointsDir())) {
            s.filter(p -> p.getFileName().toString().matches("step-\\d+") && Files.isRegularFile(p.resolve(STATE)))
                    .forEach(out::add);
        }
        out.sort(Comparator.comparingLong(Checkpoints::stepOf));
        return out;
    }

    public Optional<Path> latest() throws IOException {
        List<Path> all = list();
        return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
    }

    static long stepOf(Path p) {
        return Long.parseLong(p.getFileName().toString().substring("step-".length()));
    }

    /** Loads the weights into {@code model} and the moments into {@code optimizer}; returns the state. */
    public static TrainerState restore(Path checkpoint, GptModel model, AdamW optimizer) throws IOException {
        GptModel saved = ModelDirectory.load(checkpoint, model.kernels(), model.dataType());
        model.parameters().flat().assign(saved.parameters().flat());
        try (Safetensors.Reader r = Safetensors.open(checkpoint.resolve(OPTIMIZER))) {
            r.readInto("exp_avg", optimizer.firstMoment());
            r.readInto("exp_avg_sq", optimizer.secondMoment());
        }
        JsonNode s = JSON.readTree(checkpoint.resolve(STATE).toFile());
        optimizer.restoreStep(s.path("optimizer_step").asLong());
        return new TrainerState(s.path("step").asLong(), s.path("epoch").asInt(), s.path("batchInEpoch").asInt(),
                s.path("bestValLoss").isNumber() ? s.get("bestValLoss").asDouble() : Double.POSITIVE_INFINITY,
                s.path("evalsWithoutImprovement").asInt(),
                s.path("seed").asLong());
    }

    static void moveAtomically(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to);
        }
        AtomicFiles.syncDirectory(to.toAbsolutePath().getParent());
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            List<Path> all = s.sorted(Comparator.reverseOrder()).toList();
            for (Path q : all) {
                Files.deleteIfExists(q);
            }
        }
    }
}
