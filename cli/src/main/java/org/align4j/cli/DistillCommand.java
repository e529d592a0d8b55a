package org.align4j.cli;

import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.backend.Backend;
import org.align4j.distill.DistillOptions;
import org.align4j.distill.DistillTrainer;
import org.align4j.train.StageConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "distill", mixinStandardHelpOptions = true, sortOptions = false,
        defaultValueProvider = DistillCommand.Defaults.class,
        description = "Distil a frozen teacher into a student (--model), as TRL's GKDTrainer: the generalized"
                + " Jensen-Shannon divergence of GKD between the student's and the teacher's next-token"
                + " distributions, over completion tokens only. Data: SFT records (prompt-completion or chat"
                + " messages; the prompt is everything before the first trained token) or prompt-only records"
                + " ({\"prompt\"} or chats ending with a user turn; these need --lmbda 1 or --seq-kd). With probability --lmbda a"
                + " batch is on-policy: the student samples completions of its prompts (--temperature,"
                + " --max-new-tokens) and learns from the teacher's view of its own samples; otherwise the data's"
                + " completions (or, with --seq-kd, the teacher's samples). On-policy distillation is --lmbda 1"
                + " --beta 1: the reverse KL on the student's own samples, given by the teacher's per-token"
                + " log-probabilities. The teacher runs forward only. Teacher and student must share one tokenizer"
                + " (checked before any work). Sampling is seeded by --seed and the batch's number: a resumed run"
                + " repeats it exactly. Metrics: loss (divergence per completion token), distill/student_logp,"
                + " distill/teacher_logp (summed log-probabilities of a batch's completions under each model, per"
                + " sequence), distill/completion_length, distill/on_policy (fraction of batches sampled), and"
                + " val_ versions on the validation data's own completions; best/ by val_loss.",
        footer = {"", "Divergence per completion token, S = log softmax(z_student / T), Q = log softmax(z_teacher / T),",
                "T = --loss-temperature:",
                "  beta 0      KL(teacher || student) = sum p_Q (Q - S)            (forward KL)",
                "  beta 1      KL(student || teacher) = sum p_S (S - Q)            (reverse KL)",
                "  otherwise   beta KL(teacher || M) + (1 - beta) KL(student || M),",
                "              M = log((1 - beta) p_S + beta p_Q), taken in log space",
                "The loss of a step is the sum over all its completion tokens divided by their number",
                "(TRL's batchmean with num_items_in_batch: gradient accumulation does not change it).", "",
                "Examples:",
                "  align4j distill --teacher runs/sft/final --model student --train sft.jsonl --val val.jsonl --out runs/kd",
                "  align4j distill --teacher runs/sft/final --model student --train prompts.jsonl --out runs/opd \\",
                "      --lmbda 1 --beta 1               (on-policy distillation: reverse KL on the student's samples)",
                "  align4j distill --teacher big --model small --train sft.jsonl --out runs/kd --lmbda 0 --beta 0",
                "                                       (word-level KD on the data: forward KL)",
                "  align4j distill --config distill.json --resume     (continue after a crash or cancel)"})
final class DistillCommand implements Callable<Integer> {

    static final class Defaults extends StageCommand.Defaults {
        ObjectNode defaults() {
            return DistillOptions.defaultSettings();
        }

        Class<?> stageType() {
            return DistillOptions.class;
        }
    }

    @Spec
    CommandSpec spec;
    @Mixin
    TrainingOptionsMixin training;
    @Mixin
    SparkOption spark;
    @Option(names = "--teacher", paramLabel = "DIR", description = "the frozen teacher's model directory; it must share the student's tokenizer")
    String teacher;
    @Option(names = "--beta", paramLabel = "X", description = "generalized JSD interpolation in [0, 1]: 0 forward KL, 1 reverse KL (default: ${DEFAULT-VALUE})")
    Double beta;
    @Option(names = "--lmbda", paramLabel = "X", description = "fraction of batches on-policy (student-sampled completions), in [0, 1] (default: ${DEFAULT-VALUE})")
    Double lmbda;
    @Option(names = "--temperature", paramLabel = "X", description = "sampling temperature of on-policy (and --seq-kd) completions (default: ${DEFAULT-VALUE})")
    Double temperature;
    @Option(names = "--max-new-tokens", paramLabel = "N", description = "longest sampled completion (default: ${DEFAULT-VALUE})")
    Integer maxNewTokens;
    @Option(names = "--seq-kd", negatable = true, description = "off-policy batches train on the teacher's samples instead of the data's completions (default: ${DEFAULT-VALUE})")
    Boolean seqKd;
    @Option(names = "--loss-temperature", paramLabel = "X", description = "softmax temperature of both models inside the divergence (default: ${DEFAULT-VALUE})")
    Double lossTemperature;

    @Override
    public Integer call() throws Exception {
        StageConfig<DistillOptions> cfg = StageCommand.resolve(spec, training, DistillOptions.defaultSettings(),
                DistillOptions.class, true);
        return TrainingCommands.exitCode(() -> DistillTrainer.run(cfg, Backend.get().kernels(), System.err,
                training.resume, spark.scaleOut()));
    }
}
