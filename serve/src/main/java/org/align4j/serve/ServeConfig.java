package org.align4j.serve;

import java.nio.file.Path;
import java.util.List;

/**
 * How {@code align4j serve} runs. {@code apiKey} null means no key: then only a loopback
 * {@code host} is allowed. {@code models} are the served base models by id.
 */
public record ServeConfig(List<NamedModel> models, String host, int port, Path dataDir, String apiKey,
                          long maxBodyBytes, long maxUploadBytes) {

    public static final long DEFAULT_MAX_BODY = 16L << 20;
    public static final long DEFAULT_MAX_UPLOAD = 512L << 20;

    public ServeConfig {
        models = List.copyOf(models);
    }

    /** A model directory served under {@code id} ({@code --model NAME=DIR}, or the directory's name). */
    public record NamedModel(String id, Path dir) {
    }
}
