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
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.chat.ChatTemplate;
import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.checkpoint.PeftAdapter;
import org.align4j.core.checkpoint.Safetensors;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.optim.AdamW;
import org.align4j.core.util.AtomicFiles;
import org.align4j.core.util.Json;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Checkpoints under {@code RUN/checkpoints/step-N/}: any number of named models with their
 * optimizer state, and the trainer's state as JSON ({@value #STATE}). The first model is stored
 * at the checkpoint's root, so that a checkpoint is itself a model directory every command
 * loads; further models (PPO's value model) in a subdirectory named after them. Each model's
 * AdamW moments sit beside it in {@value #OPTIMIZER}.
 *
 * <p>A checkpoint is written into a hidden temporary directory and renamed into place, and an
 * old one is renamed out of the way before it is deleted, so a crash leaves whole checkpoints
 * or none; {@link #recover()} removes what a crash left behind.
 */
public final class Checkpoints {

    public static final String STATE = "trainer_state.json";
    public static final String OPTIMIZER = "optimizer.safetensors";

    /** A model saved in a checkpoint: its name, weights, optimizer, and the directory its tokenizer came from. */
    public record Member(String name, DecoderModel model, AdamW optimizer, Path source) {
    }

    private final RunDirectory run;

    public Checkpoints(RunDirectory run) {
        this.run = run;
    }

    /** Writes the checkpoint of {@code step} and keeps only the newest {@code keepLast} (0: all). */
    public Path save(long step, List<Member> members, JsonNode state, int keepLast) throws IOException {
        Path dir = run.checkpointsDir().resolve("step-" + step);
        Path tmp = run.checkpointsDir().resolve(".tmp-step-" + step);
        try {
            writeCheckpoint(tmp, members, state);
        } catch (IOException e) {
            // a full disk must not leave a partial checkpoint behind
            deleteQuietly(tmp);
            throw new IOException("writing checkpoint " + dir + " failed: " + e.getMessage()
                    + "; the partial checkpoint was removed and the previous ones are intact", e);
        }
        discard(dir);
        moveAtomically(tmp, dir);
        if (keepLast > 0) {
            List<Path> all = list();
            for (int i = 0; i + keepLast < all.size(); i++) {
                discard(all.get(i));
            }
        }
        return dir;
    }

    private static void writeCheckpoint(Path tmp, List<Member> members, JsonNode state) throws IOException {
        deleteTree(tmp);
        ObjectNode optimizerSteps = Json.MAPPER.createObjectNode();
        for (int i = 0; i < members.size(); i++) {
            Member m = members.get(i);
            Path where = i == 0 ? tmp : tmp.resolve(m.name());
            writeModelFiles(m.model(), m.source(), where);
            Map<String, INDArray> opt = new LinkedHashMap<>();
            opt.put("exp_avg", m.optimizer().firstMoment());
            opt.put("exp_avg_sq", m.optimizer().secondMoment());
            Safetensors.write(where.resolve(OPTIMIZER), opt, Map.of("step", Long.toString(m.optimizer().stepCount())));
            optimizerSteps.put(m.name(), m.optimizer().stepCount());
        }
        ObjectNode s = state.deepCopy();
        s.set("optimizer_steps", optimizerSteps);
        AtomicFiles.writeString(tmp.resolve(STATE), Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(s));
    }

    private static void deleteQuietly(Path p) {
        try {
            deleteTree(p);
        } catch (IOException ignored) {
            // recover() removes it at the next start
        }
    }

    /** Loads weights and optimizer moments into {@code members} and returns the trainer state. */
    public static JsonNode restore(Path checkpoint, List<Member> members) throws IOException {
        JsonNode s = Json.MAPPER.readTree(checkpoint.resolve(STATE).toFile());
        for (int i = 0; i < members.size(); i++) {
            Member m = members.get(i);
            Path where = i == 0 ? checkpoint : checkpoint.resolve(m.name());
            if (m.model().lora() != null) {
                // the adapter (and a head) is all that trains; the base, frozen, is already in place
                PeftAdapter.loadInto(where, m.model());
            } else {
                DecoderModel saved = ModelDirectory.load(where, m.model().kernels(), m.model().dataType(),
                        m.model().hasScoreHead());
                // by name: a model with frozen tensors orders its buffer differently from a loaded one;
                // frozen tensors never change, so the trainable ones are all there is to restore
                for (String name : m.model().trainableParameters().names()) {
                    m.model().parameters().get(name).assign(saved.parameters().get(name));
                }
            }
            try (Safetensors.Reader r = Safetensors.open(where.resolve(OPTIMIZER))) {
                r.readInto("exp_avg", m.optimizer().firstMoment());
                r.readInto("exp_avg_sq", m.optimizer().secondMoment());
            }
            JsonNode step = s.path("optimizer_steps").path(m.name());
            if (!step.canConvertToLong()) {
                throw new IOException(checkpoint.resolve(STATE) + ": no optimizer step for model '" + m.name() + "'");
            }
            m.optimizer().restoreStep(step.asLong());
        }
        return s;
    }

    /** A model directory (weights, config, tokenizer files) at {@code target}, replacing it atomically. */
    public static void writeModel(DecoderModel model, Path modelSource, Path target) throws IOException {
        Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
        deleteTree(tmp);
        try {
            writeModelFiles(model, modelSource, tmp);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new IOException("writing " + target + " failed: " + e.getMessage(), e);
        }
        Path old = target.resolveSibling("." + target.getFileName() + ".old");
        deleteTree(old);
        if (Files.exists(target)) {
            moveAtomically(target, old);
        }
        moveAtomically(tmp, target);
        deleteTree(old);
    }

    private static void writeModelFiles(DecoderModel model, Path modelSource, Path dir) throws IOException {
        Files.createDirectories(dir);
        ModelDirectory.save(model, dir);
        if (modelSource != null) {
            ModelDirectory.copyTokenizerFiles(modelSource, dir);
            Path template = modelSource.resolve(ChatTemplate.FILE);
            if (Files.isRegularFile(template)) {
                Files.copy(template, dir.resolve(template.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    /**
     * Removes what a crash can leave: temporary and half-deleted checkpoints, and temporary model
     * directories; a model directory caught between its old and new version gets the old one back.
     */
    public void recover() throws IOException {
        for (Path dir : List.of(run.checkpointsDir(), run.root())) {
            if (!Files.isDirectory(dir)) {
                continue;
            }
            List<Path> entries;
            try (Stream<Path> s = Files.list(dir)) {
                entries = s.toList();
            }
            for (Path p : entries) {
                String n = p.getFileName().toString();
                if (n.startsWith(".tmp-") || n.startsWith(".trash-") || (n.startsWith(".") && n.endsWith(".tmp"))) {
                    deleteTree(p);
                } else if (n.startsWith(".") && n.endsWith(".old")) {
                    Path target = p.resolveSibling(n.substring(1, n.length() - ".old".length()));
                    if (Files.exists(target)) {
                        deleteTree(p);
                    } else {
                        moveAtomically(p, target);
                    }
                }
            }
        }
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

    /** Renames a checkpoint out of sight, then deletes it: a crash half-way leaves only a {@code .trash-} directory. */
    private static void discard(Path checkpoint) throws IOException {
        if (!Files.exists(checkpoint)) {
            return;
        }
        Path trash = checkpoint.resolveSibling(".trash-" + checkpoint.getFileName());
        deleteTree(trash);
        moveAtomically(checkpoint, trash);
        deleteTree(trash);
    }

    static void moveAtomically(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to);
        }
        AtomicFiles.syncDirectory(to.toAbsolutePath().getParent());
    }

    public static void deleteTree(Path p) throws IOException {
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
