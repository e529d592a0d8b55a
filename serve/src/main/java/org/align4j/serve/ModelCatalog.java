package org.align4j.serve;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The models a client can name: the {@code --model} directories, and every succeeded job's model
 * and checkpoints ({@code ft:BASE:SUFFIX:JOB} and {@code ...:ckpt-step-N}), registered by the job
 * runner the moment they exist. Ids map to directories inside the server's own state; a client's
 * id is only ever a key here, never a path.
 */
public final class ModelCatalog {

    /** A servable model: its id, its directory, who made it and when (seconds since the epoch). */
    public record Entry(String id, Path dir, String ownedBy, long created) {
    }

    private final Map<String, Entry> entries = new LinkedHashMap<>();

    public synchronized void register(String id, Path dir, String ownedBy, long created) {
        entries.put(id, new Entry(id, dir, ownedBy, created));
    }

    public synchronized Optional<Entry> find(String id) {
        return Optional.ofNullable(entries.get(id));
    }

    /** The entry for a client's model id, or a 404 naming the {@code param} it came from. */
    public Entry require(String id, String param) {
        if (id == null || id.isBlank()) {
            throw ApiError.invalid(param, "you must provide a model parameter");
        }
        return find(id).orElseThrow(() -> ApiError.notFound(param, "The model '" + id + "' does not exist"));
    }

    public synchronized List<Entry> list() {
        return new ArrayList<>(entries.values());
    }
}
