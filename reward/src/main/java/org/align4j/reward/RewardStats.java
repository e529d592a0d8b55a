package org.align4j.reward;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.align4j.core.util.AtomicFiles;
import org.align4j.core.util.Json;

/**
 * Mean and standard deviation of a reward model's scores over its training responses, stored in
 * the model directory as {@value #FILE} so that PPO can normalise scores to mean 0 and std 1.
 */
public record RewardStats(double mean, double std, long count) {

    public static final String FILE = "reward_stats.json";

    public static RewardStats of(double[] scores) {
        double mean = 0;
        for (double s : scores) {
            mean += s;
        }
        mean /= scores.length;
        double var = 0;
        for (double s : scores) {
            var += (s - mean) * (s - mean);
        }
        return new RewardStats(mean, Math.sqrt(var / scores.length), scores.length);
    }

    public void write(Path modelDir) throws IOException {
        AtomicFiles.writeString(modelDir.resolve(FILE), Json.MAPPER.writerWithDefaultPrettyPrinter()
                .writeValueAsString(this) + "\n");
    }

    /** The statistics stored in a reward model directory, or null when it has none. */
    public static RewardStats read(Path modelDir) throws IOException {
        Path f = modelDir.resolve(FILE);
        return Files.isRegularFile(f) ? Json.MAPPER.readValue(f.toFile(), RewardStats.class) : null;
    }
}
