package org.align4j.cli;

import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.backend.Backend;
import org.align4j.ppo.PpoOptions;
import org.align4j.ppo.PpoTrainer;
import org.align4j.ppo.algos.LossAggregation;
import org.align4j.ppo.algos.LossType;
import org.align4j.ppo.algos.PolicyLossType;
import org.align4j.ppo.algos.ScaleRewards;
import org.align4j.train.StageConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "ppo", mixinStandardHelpOptions = true, sortOptions = false, defaultValueProvider = PpoCommand.Defaults.class,
        description = "Optimise the policy (--model, an SFT model) against a reward (stage 3) while a KL penalty to"
                + " the frozen reference (the same model) keeps it close: PPO with a value model and GAE, PPO-ptx"
                + " with --ptx-data, or the critic-free RLOO, GRPO and REINFORCE++, with the loss variants of TRL and verl (--loss-type, --loss-agg-mode, --policy-loss; DAPO's dynamic sampling and overlong shaping). A step is one iteration: --batch-size prompts,"
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
                "  align4j ppo --model runs/sft/final --grader math.json --prompts problems.jsonl --out runs/dapo \\",
                "      --estimator grpo --samples-per-prompt 8 --loss-type dapo      (or dr_grpo, gspo, cispo, ...)",
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
    @Mixin
    SparkOption spark;
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
    @Option(names = "--estimator", description = "${COMPLETION-CANDIDATES}: gae (GAE, Schulman et al. 2016) with a value model, or critic-free:"
            + " rloo (RLOO, Ahmadian et al. 2024; KL in the reward), grpo (GRPO, Shao et al. 2024; KL in the loss, see --scale-rewards),"
            + " reinforce++ (REINFORCE++, Hu 2025, verl's: discounted returns of the KL-shaped token rewards, whitened over the batch),"
            + " reinforce++-baseline (verl's: the group's mean subtracted, then whitened over the batch) (default: ${DEFAULT-VALUE})")
    PpoOptions.Estimator estimator;
    @Option(names = "--samples-per-prompt", paramLabel = "K", description = "responses per prompt; rloo, grpo and reinforce++-baseline need 2 or more (default: ${DEFAULT-VALUE})")
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
    @Option(names = "--gamma", paramLabel = "X", description = "discount of GAE and of reinforce++'s returns (default: ${DEFAULT-VALUE})")
    Double gamma;
    @Option(names = "--lam", paramLabel = "X", description = "GAE lambda (default: ${DEFAULT-VALUE})")
    Double lam;
    @Option(names = "--ppo-epochs", paramLabel = "N", description = "passes over each iteration's responses (default: ${DEFAULT-VALUE})")
    Integer ppoEpochs;
    @Option(names = "--mini-batches", paramLabel = "N", description = "updates per pass (default: ${DEFAULT-VALUE})")
    Integer miniBatches;
    @Option(names = "--cliprange", paramLabel = "EPS", description = "policy ratio clipping, symmetric: the default of --cliprange-low and --cliprange-high (default: ${DEFAULT-VALUE})")
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
    @Option(names = "--loss-type", description = "preset of TRL's GRPO loss_type (critic-free estimators), setting the options below that are not given:"
            + " grpo (seq-mean-token-mean); bnpo (token-mean); dr_grpo (Dr. GRPO: seq-mean-token-sum-norm, --scale-rewards none);"
            + " dapo (DAPO: token-mean, --cliprange-low 0.2 --cliprange-high 0.28, --dynamic-sampling, --overlong-buffer-len a fifth of --max-new-tokens);"
            + " cispo (MiniMax-M1: --policy-loss cispo, token-mean, ratio capped at 5 as TRL's epsilon_high 5, no lower bound);"
            + " gspo (GSPO: --policy-loss gspo, seq-mean-token-mean, --cliprange-low 3e-4 --cliprange-high 4e-4);"
            + " sapo (SAPO: --policy-loss sapo, seq-mean-token-mean). Default: none, each option's own default")
    LossType lossType;
    @Option(names = "--loss-agg-mode", paramLabel = "MODE", description = "verl's loss_agg_mode, how token losses make the loss:"
            + " token-mean (over the mini-batch's tokens; DAPO, TRL's bnpo/dapo); seq-mean-token-mean (mean per response, then over"
            + " responses; GRPO's paper); seq-mean-token-sum (sum per response, mean over responses); seq-mean-token-sum-norm"
            + " (Dr. GRPO: sum / (responses x --max-new-tokens), a constant, no length bias). Default: from --loss-type, else"
            + " seq-mean-token-mean with --estimator grpo and token-mean otherwise")
    LossAggregation lossAggMode;
    @Option(names = "--policy-loss", description = "verl's policy_loss: vanilla (PPO's clip, Schulman et al. 2017, with --cliprange-low/-high);"
            + " gspo (GSPO, Zheng et al. 2025: one ratio per response, the geometric mean of its token ratios, clipped);"
            + " cispo (CISPO, MiniMax-M1: the clipped ratio as a detached weight on logp x A, no token loses its gradient);"
            + " sapo (SAPO, TRL's sapo: a sigmoid gate of temperature --sapo-temperature-pos/-neg instead of the clip)."
            + " Default: from --loss-type, else vanilla")
    PolicyLossType policyLoss;
    @Option(names = "--cliprange-low", paramLabel = "EPS", description = "lower ratio bound 1 - EPS (verl's clip_ratio_low; TRL's epsilon). Default: from --loss-type, else --cliprange")
    Double cliprangeLow;
    @Option(names = "--cliprange-high", paramLabel = "EPS", description = "upper ratio bound 1 + EPS: DAPO's clip-higher, 0.28 in the paper (verl's clip_ratio_high; TRL's epsilon_high). Default: from --loss-type, else --cliprange")
    Double cliprangeHigh;
    @Option(names = "--clip-ratio-c", paramLabel = "C", description = "dual-clip PPO (Ye et al. 2019, verl's clip_ratio_c, > 1): a negative advantage's token loss is capped at -A x C, so a huge ratio cannot blow an update up. Default: off")
    Double clipRatioC;
    @Option(names = "--sapo-temperature-pos", paramLabel = "T", description = "SAPO's gate temperature for positive advantages (TRL's) (default: ${DEFAULT-VALUE})")
    Double sapoTemperaturePos;
    @Option(names = "--sapo-temperature-neg", paramLabel = "T", description = "SAPO's gate temperature for other advantages (TRL's) (default: ${DEFAULT-VALUE})")
    Double sapoTemperatureNeg;
    @Option(names = "--scale-rewards", description = "GRPO's division of the centred rewards (TRL's scale_rewards): group (its std, GRPO's paper), batch (the batch's std, PPO Lite), none (Dr. GRPO). Default: from --loss-type, else group")
    ScaleRewards scaleRewards;
    @Option(names = "--dynamic-sampling", negatable = true, description = "DAPO's dynamic sampling (verl's filter_groups): drop the groups whose scores are all equal (no advantage) and roll out more prompts to refill the batch; metrics sampling/groups_dropped, sampling/groups_kept, sampling/num_gen_batches, sampling/responses_generated. Default: from --loss-type, else off")
    Boolean dynamicSampling;
    @Option(names = "--max-resample-rounds", paramLabel = "N", description = "bound on dynamic sampling's extra rollouts per iteration (verl's max_num_gen_batches - 1); after it the batch trains on the groups kept (default: ${DEFAULT-VALUE})")
    Integer maxResampleRounds;
    @Option(names = "--overlong-buffer-len", paramLabel = "N", description = "DAPO's soft overlong punishment (verl's overlong_buffer.len): a response longer than --max-new-tokens - N loses (length - (max - N)) / N x --overlong-penalty-factor; 0: off. Default: from --loss-type, else 0")
    Integer overlongBufferLen;
    @Option(names = "--overlong-penalty-factor", paramLabel = "X", description = "the punishment at --max-new-tokens (verl's overlong_buffer.penalty_factor) (default: ${DEFAULT-VALUE})")
    Double overlongPenaltyFactor;
    @Option(names = "--mask-truncated", negatable = true, description = "train no token of a response that hit --max-new-tokens without ending (TRL's mask_truncated_completions; DAPO's overlong filtering) (default: ${DEFAULT-VALUE})")
    Boolean maskTruncated;
    @Option(names = "--entropy-coef", paramLabel = "X", description = "entropy bonus: subtracts X x the mean entropy per trained token of the policy's distribution (TRL's entropy_coef; verl's entropy_coeff) (default: ${DEFAULT-VALUE})")
    Double entropyCoef;

    @Override
    public Integer call() throws Exception {
        StageConfig<PpoOptions> cfg = StageCommand.resolve(spec, training, PpoOptions.defaultSettings(),
                PpoOptions.class, false);
        return TrainingCommands.exitCode(() -> PpoTrainer.run(cfg, Backend.get().kernels(), System.err,
                training.resume, spark.scaleOut()));
    }
}
