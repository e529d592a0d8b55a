package org.align4j.cli;

import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.backend.Backend;
import org.align4j.kto.KtoLossType;
import org.align4j.kto.KtoOptions;
import org.align4j.kto.KtoTrainer;
import org.align4j.train.StageConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "kto", mixinStandardHelpOptions = true, sortOptions = false, defaultValueProvider = KtoCommand.Defaults.class,
        description = "Align a model from thumbs up and down on single responses (KTO, TRL's KTOTrainer): no pairs, no"
                + " reward model, no sampling. Data: unpaired records {\"prompt\", \"completion\", \"label\": true|false},"
                + " text or chat messages ('data to-kto' and 'label export --to kto' write them from pairs, rankings"
                + " or binary judgments). The KL estimate z0 of a batch comes from mismatched prompt-completion pairs"
                + " (each prompt with the completion of its neighbour in file order, in groups of --batch-size, as"
                + " TRL pairs them), clamped at 0 and without gradient. The reference's log-probabilities are"
                + " computed once, before training, and cached in RUN_DIR/reference_logps.json (a resumed run reuses"
                + " them). Metrics: loss, kl, rewards/chosen, rewards/rejected, rewards/margins, logps/chosen,"
                + " logps/rejected (chosen: desirable, rejected: undesirable) and their val_ versions; best/ by"
                + " val_loss.",
        footer = {"", "Losses, with r = logp - ref (summed over completion tokens):",
                "  kto                desirable  w_d (1 - sigmoid(beta (r - z0)))",
                "                     undesirable w_u (1 - sigmoid(beta (z0 - r)))",
                "  apo_zero_unpaired  desirable  w_d (1 - sigmoid(beta r)), undesirable w_u sigmoid(beta r)",
                "A policy equal to its reference starts at (w_d n_d + w_u n_u) / (2 n): 0.5 with both weights 1.",
                "With unequal counts, (w_d n_d) / (w_u n_u) should lie in [1, 4/3] (KTO paper, eq. 8): the run",
                "warns with the range for either weight otherwise, as TRL does.", "", "Examples:",
                "  align4j kto --model runs/sft/final --train thumbs.jsonl --val thumbs.val.jsonl --out runs/kto",
                "  align4j kto --model runs/sft/final --train thumbs.jsonl --out runs/kto --undesirable-weight 2.5",
                "  align4j kto --config kto.json --resume           (continue after a crash or cancel)"})
final class KtoCommand implements Callable<Integer> {

    static final class Defaults extends StageCommand.Defaults {
        ObjectNode defaults() {
            return KtoOptions.defaultSettings();
        }

        Class<?> stageType() {
            return KtoOptions.class;
        }
    }

    @Spec
    CommandSpec spec;
    @Mixin
    TrainingOptionsMixin training;
    @Mixin
    SparkOption spark;
    @Option(names = "--loss-type", description = "${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE})")
    KtoLossType lossType;
    @Option(names = "--beta", paramLabel = "X", description = "strength of the KL regularisation (default: ${DEFAULT-VALUE})")
    Double beta;
    @Option(names = "--desirable-weight", paramLabel = "X", description = "weight of a desirable example's loss (default: ${DEFAULT-VALUE})")
    Double desirableWeight;
    @Option(names = "--undesirable-weight", paramLabel = "X", description = "weight of an undesirable example's loss (default: ${DEFAULT-VALUE})")
    Double undesirableWeight;
    @Option(names = "--ref-model", paramLabel = "DIR", description = "frozen reference model, a model or adapter directory (default: --model and --adapter, as the run starts)")
    String refModel;

    @Override
    public Integer call() throws Exception {
        StageConfig<KtoOptions> cfg = StageCommand.resolve(spec, training, KtoOptions.defaultSettings(),
                KtoOptions.class, true);
        return TrainingCommands.exitCode(() -> KtoTrainer.run(cfg, Backend.get().kernels(), System.err,
                training.resume, spark.scaleOut()));
    }
}
