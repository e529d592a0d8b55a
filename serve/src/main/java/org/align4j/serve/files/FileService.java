package org.align4j.serve.files;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.util.AtomicFiles;
import org.align4j.core.util.Json;
import org.align4j.data.batch.ExampleEncoder;
import org.align4j.data.format.Problem;
import org.align4j.data.validate.ValidationReport;
import org.align4j.data.validate.Validator;
import org.align4j.serve.ApiError;

/**
 * Uploaded files: stored as {@code DATA_DIR/files/<id>.jsonl} (written to a temporary file,
 * fsynced, then renamed), validated by the data module as they arrive, listed, read back and
 * deleted. The size estimate uses the tokenizer of {@code estimateModel} (the first served model),
 * each record's tokens up to its context length, times the epochs OpenAI's rule suggests.
 */
public final class FileService {

    public static final String PURPOSE = "fine-tune";
    /** How many problem lines a file's {@code status_details} holds (all are counted). */
    static final int DETAIL_LINES = 50;

    /** The model whose tokenizer counts an upload's tokens: its id, directory and context length. */
    public record EstimateModel(String id, Path dir, int contextLength) {
    }

    private final FileStore store;
    private final Path filesDir;
    private final EstimateModel estimateModel;
    /** Files a job that has not finished still reads: deleting one is a conflict. */
    private final Predicate<String> inUse;

    public FileService(FileStore store, Path dataDir, EstimateModel estimateModel, Predicate<String> inUse)
            throws IOException {
        this.store = store;
        this.filesDir = dataDir.resolve("files");
        this.estimateModel = estimateModel;
        this.inUse = inUse;
        Files.createDirectories(filesDir);
    }

    /** Where a stored file's bytes are: made from a checked id, never from a client's path. */
    public Path path(String id) {
        return filesDir.resolve(Ids.require(Ids.FILE, id, "file_id", "file") + ".jsonl");
    }

    public StoredFile upload(String filename, String purpose, InputStream content) throws IOException {
        if (purpose == null || purpose.isBlank()) {
            throw ApiError.invalid("purpose", "Missing required parameter: 'purpose'.");
        }
        if (!PURPOSE.equals(purpose)) {
            throw ApiError.invalid("purpose", "'" + purpose + "' is not a supported purpose: align4j accepts '"
                    + PURPOSE + "' (JSONL training or validation data).");
        }
        String name = filename == null || filename.isBlank() ? "upload.jsonl" : Path.of(filename).getFileName().toString();
        String id = Ids.next(Ids.FILE);
        Path target = path(id);
        Path tmp = filesDir.resolve("." + id + ".upload");
        try {
            Files.copy(content, tmp, StandardCopyOption.REPLACE_EXISTING);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            AtomicFiles.syncDirectory(filesDir);
        } finally {
            Files.deleteIfExists(tmp);
        }
        StoredFile f = validate(id, name, purpose, target);
        store.insert(f);
        return f;
    }

    /** The data module's checks; problems named by the client's file name and the line. */
    private StoredFile validate(String id, String name, String purpose, Path file) throws IOException {
        List<String> details = new ArrayList<>();
        long[] problems = {0};
        ExampleEncoder encoder = estimateModel == null ? null : encoder(estimateModel);
        int maxLength = estimateModel == null ? 0 : estimateModel.contextLength();
        Validator v = new Validator(encoder, maxLength, null, (Problem p) -> {
            problems[0]++;
            if (details.size() < DETAIL_LINES) {
                details.add(name + ":" + p.line() + ": " + p.kind().id() + ": " + p.message());
            }
        });
        ValidationReport r = v.validate(List.of(file));
        if (problems[0] > details.size()) {
            details.add("... and " + (problems[0] - details.size()) + " more problem(s)");
        }
        ObjectNode ext = Json.MAPPER.createObjectNode();
        ValidationReport.FileSummary summary = r.files().get(0);
        ext.put("record_kind", summary.kind() == null ? null : summary.kind().id());
        ext.put("records", r.records());
        ext.put("valid_records", r.validRecords());
        ext.put("invalid_records", r.invalidRecords());
        ext.put("duplicates", r.duplicates());
        ext.put("suggested_epochs", r.suggestedEpochs());
        if (r.tokens() != null) {
            ext.put("billed_tokens_per_epoch", r.tokens().billedTokens());
            ext.put("estimated_training_tokens", r.estimatedTrainingTokens(r.suggestedEpochs()));
            ext.put("estimate_model", estimateModel.id());
        }
        return new StoredFile(id, name, purpose, Files.size(file), Instant.now().getEpochSecond(),
                r.ok() ? StoredFile.PROCESSED : StoredFile.ERROR, r.ok() ? null : String.join("\n", details), ext);
    }

    /** The encoder of a model directory, with the end-of-sequence id from its config. */
    public static ExampleEncoder encoder(EstimateModel m) throws IOException {
        JsonNode config = Json.MAPPER.readTree(m.dir().resolve("config.json").toFile());
        return ExampleEncoder.forModel(m.dir(), config.path("eos_token_id").asInt(-1));
    }

    /** A model's context length from its config.json (GPT-2's n_positions, Llama's max_position_embeddings). */
    public static int contextLength(Path modelDir) {
        try {
            JsonNode c = Json.MAPPER.readTree(modelDir.resolve("config.json").toFile());
            return c.has("n_positions") ? c.get("n_positions").asInt() : c.path("max_position_embeddings").asInt(0);
        } catch (IOException e) {
            return 0;
        }
    }

    public StoredFile get(String id, String param) {
        Ids.require(Ids.FILE, id, param, "file");
        return store.find(id).orElseThrow(() -> ApiError.notFound(param, "No such File object: " + id));
    }

    /** The file {@code id}, if it exists (no error for a missing or malformed id). */
    public Optional<StoredFile> find(String id) {
        return Ids.valid(Ids.FILE, id) ? store.find(id) : Optional.empty();
    }

    public List<StoredFile> list(String purpose, String after, int limit) {
        return store.list(purpose, after, limit);
    }

    public void delete(String id) throws IOException {
        get(id, "file_id");
        if (inUse.test(id)) {
            throw ApiError.conflict("file_id", "File " + id + " is used by a fine-tuning job that has not finished;"
                    + " cancel the job first.");
        }
        store.delete(id);
        Files.deleteIfExists(path(id));
    }
}
