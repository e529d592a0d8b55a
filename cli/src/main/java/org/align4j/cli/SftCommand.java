package org.align4j.cli;

import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.backend.Backend;
import org.align4j.sft.SftOptions;
import org.align4j.sft.SftTrainer;
import org.align4j.train.StageConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "sft", mixinStandardHelpOptions = true, sortOptions = false, defaultValueProvider = SftCommand.Defaults.class,
        description = "Supervised fine-tuning (stage 1). Text records train every token, prompt-completion records"
                + " the completion, chat records the assistant turns. --model may be a base model or a model"
                + " already fine-tuned by align4j (incremental training). Writes RUN_DIR/config.json,"
                + " metrics.jsonl, events.jsonl, checkpoints/step-N/, best/ (with --val, by val_loss) and final/.",
        footer = {"", "Examples:",
                "  align4j sft --model examples/base-model --train examples/emojibot/train.jsonl \\",
                "      --val examples/emojibot/val.jsonl --out runs/emojibot --epochs 8 --lr 1e-3",
                "  align4j sft --config examples/emojibot/sft.json          (settings from a file, flags override)",
                "  align4j sft --config examples/emojibot/sft.json --resume (continue after a crash or cancel)"})
final class SftCommand implements Callable<Integer> {

    static final class Defaults extends StageCommand.Defaults {
        ObjectNode defaults() {
            return SftOptions.defaultSettings();
        }

        Class<?> stageType() {
            return SftOptions.class;
        }
    }

    @Spec
    CommandSpec spec;
    @Mixin
    TrainingOptionsMixin training;
    @Mixin
    SparkOption spark;
    @Option(names = "--packing", negatable = true, description = "pack text records into full sequences (default: ${DEFAULT-VALUE})")
    Boolean packing;
    @Option(names = "--show-samples", description = "at the end, print answers to this many validation prompts (default: ${DEFAULT-VALUE})")
    Integer showSamples;

    @Override
    public Integer call() throws Exception {
        StageConfig<SftOptions> cfg = StageCommand.resolve(spec, training, SftOptions.defaultSettings(),
                SftOptions.class, true);
        return TrainingCommands.exitCode(() -> SftTrainer.run(cfg, Backend.get().kernels(), System.err,
                training.resume, spark.scaleOut()));
    }
}
