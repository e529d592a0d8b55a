package org.align4j.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.backend.Backend;
import org.align4j.core.kernels.Kernels;
import org.align4j.dpo.DpoLossType;
import org.align4j.dpo.DpoOptions;
import org.align4j.dpo.DpoTrainer;
import org.align4j.dpo.OnlineDpoTrainer;
import org.align4j.reward.Judges;
import org.align4j.train.Judge;
import org.align4j.train.SettingsException;
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
                "  --rpo-alpha A adds A * NLL(chosen) to any of them.", "",
                "Online DPO (--online, TRL's OnlineDPOTrainer): each step samples two responses per prompt from the"
                        + " policy, the judge (--judge-model, --grader or --reward-fn) picks the better (a tie: the"
                        + " first sample), and the loss above trains on that pair against the frozen reference."
                        + " Also logs objective/scores, objective/scores_margin, objective/kl, objective/entropy,"
                        + " val/contain_eos_token; samples/step-N.jsonl holds each pair.", "", "Examples:",
                "  align4j dpo --model runs/sft/final --train pairs.jsonl --val pairs.val.jsonl --out runs/dpo",
                "  align4j dpo --model runs/sft/final --train pairs.jsonl --out runs/ipo --loss ipo --beta 0.5",
                "  align4j dpo --model runs/sft/final --train pairs.jsonl --out runs/simpo --loss simpo --beta 2"
                        + " --simpo-gamma 1",
                "  align4j dpo --model runs/sft/final --online --prompts prompts.jsonl --judge-model runs/rm/final"
                        + " --out runs/odpo",
                "  align4j dpo --model runs/sft/final --online --prompts problems.jsonl --grader math.json --out runs/odpo",
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
    @Mixin
    SparkOption spark;
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
    @Option(names = "--online", description = "sample the pairs from the policy each step and let the judge choose (online DPO)")
    Boolean online;
    @Option(names = "--prompts", paramLabel = "FILE", description = "--online: prompts, JSONL of {\"prompt\"} or {\"messages\"} (or any SFT or preference file); default: --train's prompt records")
    String prompts;
    @Option(names = "--judge-model", paramLabel = "DIR", description = "--online: a reward model (same tokenizer as --model) whose raw score picks the chosen sample")
    String judgeModel;
    @Option(names = "--grader", paramLabel = "FILE", description = "--online: a grader JSON (as ppo's --grader) whose score picks the chosen sample")
    String grader;
    @Option(names = "--reward-fn", paramLabel = "NAME", description = "--online: a programmatic judge: sentiment, regex:PATTERN or length:N")
    String rewardFn;
    @Option(names = "--grader-concurrency", paramLabel = "N", description = "--online: samples graded at once (default: ${DEFAULT-VALUE})")
    Integer graderConcurrency;
    @Option(names = "--max-new-tokens", paramLabel = "N", description = "--online: response length limit (default: ${DEFAULT-VALUE})")
    Integer maxNewTokens;
    @Option(names = "--temperature", paramLabel = "X", description = "--online: sampling temperature (default: ${DEFAULT-VALUE})")
    Double temperature;
    @Option(names = "--missing-eos-penalty", paramLabel = "X", description = "--online: subtracted from the score of a response that never ended (default: none)")
    Double missingEosPenalty;
    @Option(names = "--sample-every", paramLabel = "N", description = "--online: write samples/step-N.jsonl every N steps; 0: as --save-every, else 10 (default: ${DEFAULT-VALUE})")
    Integer sampleEvery;

    @Override
    public Integer call() throws Exception {
        // --train is optional with --online (--prompts); DpoOptions.problems(TrainingOptions) says when it is needed
        StageConfig<DpoOptions> cfg = StageCommand.resolve(spec, training, DpoOptions.defaultSettings(),
                DpoOptions.class, false);
        if (!cfg.stage().problems(cfg.training()).isEmpty()) {
            throw new SettingsException(cfg.stage().problems(cfg.training()));
        }
        if (!cfg.stage().online()) {
            return TrainingCommands.exitCode(() -> DpoTrainer.run(cfg, Backend.get().kernels(), System.err,
                training.resume, spark.scaleOut()));
        }
        return TrainingCommands.exitCode(() -> {
            Kernels kernels = Backend.get().kernels();
            return OnlineDpoTrainer.run(cfg, judge(cfg, kernels), kernels, System.err, training.resume,
                    spark.scaleOut());
        });
    }

    /** The judge of --online, its files checked now (a reward model reads the policy's token ids). */
    static Judge.Loader judge(StageConfig<DpoOptions> cfg, Kernels kernels) throws IOException {
        DpoOptions d = cfg.stage();
        return Judges.of(Path.of(cfg.training().model()), d.judgeModel(), d.grader(), d.rewardFn(),
                d.graderConcurrency(), 2 * cfg.training().batchSize(), kernels);
    }
}
