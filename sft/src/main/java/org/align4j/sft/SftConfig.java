package org.align4j.sft;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Everything an SFT run needs, under TRL-style snake_case names in {@code config.json}.
 * Resolution order: {@link #defaults()}, then a {@code --config} file, then command-line flags.
 *
 * <p>Defaults suit both a tiny model and GPT-2: AdamW at 2e-4 with 3% warmup and cosine decay
 * to 10%, batch 8, 3 epochs, gradient clipping at 1.0, weight decay 0.01, an evaluation and a
 * checkpoint about ten times per run, the two newest checkpoints kept. {@code show_samples} prints
 * the trained model's greedy answers to the first validation prompts at the end.
 */
public record SftConfig(String model, String trainFile, String valFile, String outputDir, int epochs, int maxSteps,
                        int batchSize, int gradAccum, double lr, int warmupSteps, double warmupRatio, String schedule,
                        double minLrRatio, double weightDecay, double adamBeta1, double adamBeta2, double adamEps,
                        double maxGradNorm, int maxLength, String truncation, boolean packing, int evalEvery,
                        int saveEvery, int keepLast, int earlyStoppingPatience, int logEvery, long seed,
                        String format, boolean skipBadRecords, int showSamples) {

    static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

    public static SftConfig defaults() {
        return new SftConfig(null, null, null, null, 3, 0, 8, 1, 2e-4, 0, 0.03, "cosine", 0.1, 0.01, 0.9, 0.999, 1e-8,
                1.0, 0, "right", true, 0, 0, 2, 0, 1, 0, null, false, 0);
    }

    /** Defaults overlaid with a config file (may be null) and then with {@code overrides} (snake_case keys). */
    public static SftConfig resolve(Path configFile, Map<String, Object> overrides) throws IOException {
        ObjectNode tree = JSON.valueToTree(defaults());
        if (configFile != null) {
            JsonNode file;
            try {
                file = JSON.readTree(configFile.toFile());
            } catch (com.fasterxml.jackson.core.JacksonException e) {
                throw new IOException(configFile + ":" + e.getLocation().getLineNr() + ": not valid JSON: "
                        + e.getOriginalMessage());
            }
            if (file == null || !file.isObject()) {
                throw new IOException(configFile + ": expected a JSON object of settings");
            }
            Iterator<Map.Entry<String, JsonNode>> it = file.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!tree.has(e.getKey())) {
                    throw new IOException(configFile + ": unknown setting '" + e.getKey() + "'");
                }
                tree.set(e.getKey(), e.getValue());
            }
        }
        overrides.forEach((k, v) -> {
            if (v != null) {
                tree.set(k, JSON.valueToTree(v));
            }
        });
        SftConfig c;
        try {
            c = JSON.treeToValue(tree, SftConfig.class);
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new IOException((configFile == null ? "settings" : configFile.toString()) + ": "
                    + e.getOriginalMessage());
        }
        c.validate();
        return c;
    }

    public void validate() {
        require(model != null, "model is required (--model DIR)");
        require(trainFile != null, "train_file is required (--train FILE)");
        require(outputDir != null, "output_dir is required (--out RUN_DIR)");
        require(epochs > 0 || maxSteps > 0, "epochs or max_steps must be positive");
        require(batchSize > 0 && gradAccum > 0, "batch_size and grad_accum must be positive");
        require(lr > 0, "lr must be positive");
        require(warmupSteps >= 0 && warmupRatio >= 0 && warmupRatio < 1, "warmup must be >= 0");
        require(maxGradNorm >= 0 && weightDecay >= 0, "max_grad_norm and weight_decay must be >= 0");
        require(maxLength >= 0 && evalEvery >= 0 && saveEvery >= 0 && keepLast >= 0 && logEvery >= 1,
                "max_length, eval_every, save_every, keep_last must be >= 0, log_every >= 1");
        require(earlyStoppingPatience >= 0, "early_stopping_patience must be >= 0");
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    public ObjectNode toJson() {
        return JSON.valueToTree(this);
    }
}
