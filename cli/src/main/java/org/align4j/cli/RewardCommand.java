package org.align4j.cli;

import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.backend.Backend;
import org.align4j.reward.RewardOptions;
import org.align4j.reward.RewardTrainer;
import org.align4j.train.StageConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "reward", mixinStandardHelpOptions = true, sortOptions = false,
        defaultValueProvider = RewardCommand.Defaults.class,
        description = "Train a reward model (stage 2): the model's backbone plus a scalar head read at the last"
                + " token of each response, on preference pairs (explicit or implicit prompt, text or chat,"
                + " optional margin) or K-way rankings with ties (every untied pair of a prompt counts, weighted"
                + " so that each prompt counts once), including the output of 'label export'. Loss: -log"
                + " sigmoid(r_chosen - r_rejected - margin). The model directory is Hugging Face's"
                + " GPT2ForSequenceClassification (or LlamaForSequenceClassification) layout; best/ is chosen by validation accuracy, and"
                + " reward_stats.json holds the mean and std of the training rewards (PPO normalises with them).",
        footer = {"", "Examples:",
                "  align4j reward --model runs/sft/final --train pairs.jsonl --val pairs.val.jsonl --out runs/rm",
                "  align4j label export --judgments j.jsonl --tasks tasks.jsonl --to rankings --out ranked.jsonl",
                "  align4j reward --model runs/sft/final --train ranked.jsonl --out runs/rm-ranked --epochs 2",
                "  align4j reward --config rm.json --resume          (continue after a crash or cancel)",
                "  align4j score --model runs/rm/final --data pairs.val.jsonl"})
final class RewardCommand implements Callable<Integer> {

    static final class Defaults extends StageCommand.Defaults {
        ObjectNode defaults() {
            return RewardOptions.defaultSettings();
        }

        Class<?> stageType() {
            return RewardOptions.class;
        }
    }

    @Spec
    CommandSpec spec;
    @Mixin
    TrainingOptionsMixin training;
    @Mixin
    SparkOption spark;
    @Option(names = "--center-rewards-coefficient", paramLabel = "C",
            description = "adds C * (r_chosen + r_rejected)^2 to each pair's loss; 0: off (default: ${DEFAULT-VALUE})")
    Double centerRewardsCoefficient;

    @Override
    public Integer call() throws Exception {
        StageConfig<RewardOptions> cfg = StageCommand.resolve(spec, training, RewardOptions.defaultSettings(),
                RewardOptions.class, true);
        return TrainingCommands.exitCode(() -> RewardTrainer.run(cfg, Backend.get().kernels(), System.err,
                training.resume, spark.scaleOut()));
    }
}
