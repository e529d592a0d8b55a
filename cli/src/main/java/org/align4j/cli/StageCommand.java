package org.align4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.output.OutputCheck;
import org.align4j.core.output.PathKind;
import org.align4j.core.util.Json;
import org.align4j.train.StageConfig;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * What every training command shares: the settings behind its options, resolved as defaults,
 * then {@code --config}, then the flags given. An option's key is its longest name in snake_case
 * ({@code --batch-size} is {@code batch_size}), for the shared mixin and a stage's own options
 * alike, so no command maps options to settings by hand.
 */
final class StageCommand {

    /** Options that steer the command rather than set a setting. */
    private static final Set<String> NOT_SETTINGS = Set.of("config", "resume", "force", "help", "version",
            "spark_master", "spark_partitions");

    private StageCommand() {
    }

    static String key(OptionSpec o) {
        return o.longestName().replaceFirst("^-+", "").replace('-', '_');
    }

    /** The stage's configuration from its defaults, the mixin's {@code --config} and the options given. */
    static <S> StageConfig<S> resolve(CommandSpec spec, TrainingOptionsMixin mixin, ObjectNode defaults,
                                      Class<S> stageType, boolean needsTrainFile) throws IOException {
        Map<String, JsonNode> flags = new LinkedHashMap<>();
        for (OptionSpec o : spec.commandLine().getParseResult().matchedOptions()) {
            String k = key(o);
            if (!NOT_SETTINGS.contains(k)) {
                flags.put(k, Json.MAPPER.valueToTree(o.getValue()));
            }
        }
        StageConfig<S> cfg = StageConfig.resolve(defaults, stageType, mixin.config, flags, needsTrainFile);
        checkOutput(cfg, mixin);
        return cfg;
    }

    /**
     * --out is none of the run's inputs (every setting that names an existing path) and no other
     * artifact. A run directory may hold its inputs (resuming with --config RUN_DIR/config.json).
     */
    private static void checkOutput(StageConfig<?> cfg, TrainingOptionsMixin mixin) {
        OutputCheck check = OutputCheck.of("--out", Path.of(cfg.training().outputDir())).replaces(PathKind.RUN)
                .input("--config", mixin.config);
        cfg.toJson().fields().forEachRemaining(e -> {
            if (e.getValue().isTextual() && !e.getKey().equals("output_dir")) {
                try {
                    Path p = Path.of(e.getValue().asText());
                    if (Files.exists(p)) {
                        check.input("--" + e.getKey().replace('_', '-'), p);
                    }
                } catch (InvalidPathException notAPath) {
                    // a setting that is not a path
                }
            }
        });
        check.check(mixin.force.force);
    }

    /** Shows a stage's own defaults as {@code ${DEFAULT-VALUE}} in its help. */
    abstract static class Defaults implements CommandLine.IDefaultValueProvider {

        abstract ObjectNode defaults();

        /** The stage's own settings record, whose ranges (with the shared ones) check its options. */
        abstract Class<?> stageType();

        @Override
        public String defaultValue(ArgSpec arg) {
            if (!(arg instanceof OptionSpec o)) {
                return null;
            }
            JsonNode v = defaults().get(key(o));
            return v == null || v.isNull() ? null : v.asText();
        }
    }
}
