package org.align4j.cli;

import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.backend.Backend;
import org.align4j.ppo.PpoOptions;
import org.align4j.ppo.PpoTrainer;
import org.align4j.train.StageConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "ppo", mixinStandardHelpOptions = true, sortOptions = false, defaultValueProvider = PpoCommand.Defaults.class,
        description = "Optimise the policy (--model, an SFT model) against a reward (stage 3) while a KL penalty to"
                + " the frozen reference (the same model) keeps it close: PPO with a value model and GAE, PPO-ptx"
                + " with --ptx-data, or the critic-free RLOO and GRPO. A step is one iteration: --batch-size prompts,"
                + " --samples-per-prompt responses each, scoring, then --ppo-epochs passes of --mini-batches clipped"
                + " updates; --max-steps counts iterations. Writes RUN_DIR/metrics.jsonl (TRL's names: objective/kl,"
                + " objective/scores, policy/clipfrac_avg, loss/value_avg, ...), samples/step-N.jsonl, checkpoints"
                + " with the policy, the value model, both optimizers and the KL controller, and final/ (the policy;"
                + " final/value/ the value model).",
        footer = {"", "Rewards: --reward-model DIR (scores normalised with its reward_stats.json), --reward-fn"
                + " sentiment | regex:PATTERN | length:N, or --grader FILE.json. A sample its grader fails on scores 0;"
                + " objective/grader_errors counts them and samples/step-N.jsonl holds the message.", "", "Examples:",
                "  align4j ppo --model runs/sft/final --reward-model runs/rm/final --prompts prompts.jsonl --out runs/ppo",
                "  align4j ppo --model runs/sft/final --reward-fn sentiment --prompts prompts.jsonl --out runs/ppo-ptx \\",
                "      --ptx-data corpus.jsonl --ptx-coef 1",
                "  align4j ppo --model runs/sft/final --reward-fn 'regex:\\(party\\)' --prompts p.jsonl --out runs/grpo \\",
                "      --estimator grpo --samples-per-prompt 4",
                "  align4j ppo --model runs/sft/final --grader math.json --prompts problems.jsonl --out runs/rlvr \\",
                "      --estimator grpo --samples-per-prompt 8      (problems.jsonl: {\"prompt\": ..., \"answer\": ...})",
                "  align4j ppo --config ppo.json --resume           (continue after a crash or cancel)"})
final class PpoCommand implements Callable<Integer> {

    static final class Defaults extends StageCommand.Defaults {
        ObjectNode defaults() {
            return PpoOptions.defaultSettings();
        }

        Class<?> stageType() {
            return PpoOptions.class;
        }
    }

    @Spec
    CommandSpec spec;
    @Mixin
    TrainingOptionsMixin training;
    @Option(names = "--prompts", paramLabel = "FILE", description = "prompts: JSONL of {\"prompt\"} or {\"messages\"}, or any SFT or preference file")
    String prompts;
    @Option(names = "--reward-model", paramLabel = "DIR", description = "reward model scoring the responses: a model directory or an adapter directory, which names its base")
    String rewardModel;
    @Option(names = "--reward-fn", paramLabel = "NAME", description = "programmatic reward: sentiment, regex:PATTERN or length:N")
    String rewardFn;
    @Option(names = "--grader", paramLabel = "FILE", description = "grader JSON in OpenAI's shape (string_check, text_similarity, score_model, multi, or align4j's regex, length, sentiment, json_schema, math_answer); {{item.FIELD}} reads the prompt's record; check it first with align4j grade")
    String grader;
    @Option(names = "--grader-concurrency", paramLabel = "N", description = "samples graded at once (a local reward model grades one at a time) (default: ${DEFAULT-VALUE})")
    Integer graderConcurrency;
    @Option(names = "--estimator", description = "${COMPLETION-CANDIDATES}: GAE with a value model, or critic-free (default: ${DEFAULT-VALUE})")
    PpoOptions.Estimator estimator;
    @Option(names = "--samples-per-prompt", paramLabel = "K", description = "responses per prompt; rloo and grpo need 2 or more (default: ${DEFAULT-VALUE})")
    Integer samplesPerPrompt;
    @Option(names = "--value-model", paramLabel = "DIR", description = "initial value model, a model or adapter directory (default: the reward model, else --model and --adapter with a zero head)")
    String valueModel;
    @Option(names = "--max-new-tokens", paramLabel = "N", description = "response length limit (default: ${DEFAULT-VALUE})")
    Integer maxNewTokens;
    @Option(names = "--temperature", paramLabel = "X", description = "sampling temperature; no top-k/top-p, so log-probabilities are the policy's (default: ${DEFAULT-VALUE})")
    Double temperature;
    @Option(names = "--kl-estimator", description = "per-token KL: k1 = logp - logp_ref, or k3 (default: ${DEFAULT-VALUE})")
    PpoOptions.KlEstimator klEstimator;
    @Option(names = "--kl-coef", paramLabel = "BETA", description = "(initial) KL coefficient (default: ${DEFAULT-VALUE})")
    Double klCoef;
    @Option(names = "--target-kl", paramLabel = "X", description = "adapt the KL coefficient towards this KL per response (Ziegler et al.); default: fixed")
    Double targetKl;
    @Option(names = "--kl-horizon", paramLabel = "N", description = "the adaptive controller's horizon (default: ${DEFAULT-VALUE})")
    Double klHorizon;
    @Option(names = "--gamma", paramLabel = "X", description = "discount (default: ${DEFAULT-VALUE})")
    Double gamma;
    @Option(names = "--lam", paramLabel = "X", description = "GAE lambda (default: ${DEFAULT-VALUE})")
    Double lam;
    @Option(names = "--ppo-epochs", paramLabel = "N", description = "passes over each iteration's responses (default: ${DEFAULT-VALUE})")
    Integer ppoEpochs;
    @Option(names = "--mini-batches", paramLabel = "N", description = "updates per pass (default: ${DEFAULT-VALUE})")
    Integer miniBatches;
    @Option(names = "--cliprange", paramLabel = "EPS", description = "policy ratio clipping (default: ${DEFAULT-VALUE})")
    Double cliprange;
    @Option(names = "--cliprange-value", paramLabel = "EPS", description = "value clipping (default: ${DEFAULT-VALUE})")
    Double cliprangeValue;
    @Option(names = "--vf-coef", paramLabel = "X", description = "weight of the value loss (default: ${DEFAULT-VALUE})")
    Double vfCoef;
    @Option(names = "--normalize-reward", negatable = true, description = "normalise reward-model scores with its stored mean and std (default: ${DEFAULT-VALUE})")
    Boolean normalizeReward;
    @Option(names = "--reward-clip", paramLabel = "X", description = "clip scores to [-X, X]; 0: off (default: ${DEFAULT-VALUE})")
    Double rewardClip;
    @Option(names = "--missing-eos-penalty", paramLabel = "X", description = "score given to a response that never ended (default: none)")
    Double missingEosPenalty;
    @Option(names = "--whiten-advantages", negatable = true, description = "whiten GAE advantages per iteration (default: ${DEFAULT-VALUE})")
    Boolean whitenAdvantages;
    @Option(names = "--ptx-data", paramLabel = "FILE", description = "PPO-ptx: pretraining text (text, completion or chat JSONL) whose LM loss joins every update")
    String ptxData;
    @Option(names = "--ptx-coef", paramLabel = "G", description = "PPO-ptx: weight of a token of --ptx-data against one of the policy objective (default: ${DEFAULT-VALUE})")
    Double ptxCoef;
    @Option(names = "--sample-every", paramLabel = "N", description = "write samples/step-N.jsonl every N iterations; 0: as --save-every, else 10 (default: ${DEFAULT-VALUE})")
    Integer sampleEvery;

    @Override
    public Integer call() throws Exception {
        StageConfig<PpoOptions> cfg = StageCommand.resolve(spec, training, PpoOptions.defaultSettings(),
                PpoOptions.class, false);
        return TrainingCommands.exitCode(() -> PpoTrainer.run(cfg, Backend.get().kernels(), System.err,
                training.resume));
    }
}
