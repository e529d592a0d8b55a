package org.align4j.cli;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

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
    private static final Set<String> NOT_SETTINGS = Set.of("config", "resume", "help", "version");

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
        return StageConfig.resolve(defaults, stageType, mixin.config, flags, needsTrainFile);
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
