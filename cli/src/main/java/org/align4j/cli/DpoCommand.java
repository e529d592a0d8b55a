package org.align4j.cli;

import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.backend.Backend;
import org.align4j.dpo.DpoLossType;
import org.align4j.dpo.DpoOptions;
import org.align4j.dpo.DpoTrainer;
import org.align4j.train.StageConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "dpo", mixinStandardHelpOptions = true, sortOptions = false, defaultValueProvider = DpoCommand.Defaults.class,
        description = "Align a model directly from preference pairs (DPO and its family), with no reward model and no"
                + " sampling. Data: preference pairs (explicit or implicit prompt, text or chat) or rankings, expanded"
                + " to every untied pair, including the output of 'label export'. Sequence log-probabilities sum over"
                + " response tokens; the reference's are computed once, before training, and cached in"
                + " RUN_DIR/reference_logps.json (a resumed run reuses them). Metrics: loss, rewards/chosen,"
                + " rewards/rejected, rewards/margins, rewards/accuracies, logps/chosen, logps/rejected and their val_"
                + " versions; best/ by val_loss.",
        footer = {"", "Losses, with D = (logp_c - ref_c) - (logp_r - ref_r):",
                "  sigmoid  -log sigmoid(beta D); with --label-smoothing e, cDPO",
                "  robust   (-(1-e) log sigmoid(beta D) + e log sigmoid(-beta D)) / (1 - 2e)",
                "  ipo      (D' - 1/(2 beta))^2, D' from per-token average log-ratios",
                "  hinge    relu(1 - beta D)",
                "  simpo    -log sigmoid(beta (avg logp_c - avg logp_r) - gamma)        (no reference)",
                "  orpo     NLL(chosen) + lambda * -log sigmoid(log odds_c - log odds_r) (no reference)",
                "  --rpo-alpha A adds A * NLL(chosen) to any of them.", "", "Examples:",
                "  align4j dpo --model runs/sft/final --train pairs.jsonl --val pairs.val.jsonl --out runs/dpo",
                "  align4j dpo --model runs/sft/final --train pairs.jsonl --out runs/ipo --loss ipo --beta 0.5",
                "  align4j dpo --model runs/sft/final --train pairs.jsonl --out runs/simpo --loss simpo --beta 2"
                        + " --simpo-gamma 1",
                "  align4j dpo --config dpo.json --resume           (continue after a crash or cancel)"})
final class DpoCommand implements Callable<Integer> {

    static final class Defaults extends StageCommand.Defaults {
        ObjectNode defaults() {
            return DpoOptions.defaultSettings();
        }

        Class<?> stageType() {
            return DpoOptions.class;
        }
    }

    @Spec
    CommandSpec spec;
    @Mixin
    TrainingOptionsMixin training;
    @Option(names = "--loss", description = "${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE})")
    DpoLossType loss;
    @Option(names = "--beta", paramLabel = "X", description = "strength of the KL regularisation (default: ${DEFAULT-VALUE})")
    Double beta;
    @Option(names = "--label-smoothing", paramLabel = "E",
            description = "assumed fraction of flipped labels, sigmoid (cDPO) and robust (default: ${DEFAULT-VALUE})")
    Double labelSmoothing;
    @Option(names = "--simpo-gamma", paramLabel = "X", description = "SimPO's target margin (default: ${DEFAULT-VALUE})")
    Double simpoGamma;
    @Option(names = "--orpo-lambda", paramLabel = "X", description = "ORPO's odds-ratio weight (default: ${DEFAULT-VALUE})")
    Double orpoLambda;
    @Option(names = "--rpo-alpha", paramLabel = "X", description = "weight of an NLL term on the chosen response (default: ${DEFAULT-VALUE})")
    Double rpoAlpha;
    @Option(names = "--ref-model", paramLabel = "DIR", description = "frozen reference model, a model or adapter directory (default: --model and --adapter, as the run starts)")
    String refModel;

    @Override
    public Integer call() throws Exception {
        StageConfig<DpoOptions> cfg = StageCommand.resolve(spec, training, DpoOptions.defaultSettings(),
                DpoOptions.class, true);
        return TrainingCommands.exitCode(() -> DpoTrainer.run(cfg, Backend.get().kernels(), System.err,
                training.resume));
    }
}
