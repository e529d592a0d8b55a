package org.align4j.serve.jobs;

import java.io.IOException;
import java.io.PrintStream;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.backend.Backend;
import org.align4j.core.kernels.CpuKernels;
import org.align4j.core.kernels.Kernels;
import org.align4j.dpo.DpoOptions;
import org.align4j.dpo.DpoTrainer;
import org.align4j.ppo.PpoOptions;
import org.align4j.ppo.PpoTrainer;
import org.align4j.sft.SftOptions;
import org.align4j.sft.SftTrainer;
import org.align4j.train.LoopResult;
import org.align4j.train.StageConfig;

/**
 * The stage behind each method, through the stages' public entry points: supervised is SFT, dpo is
 * DPO, reinforcement is PPO with a grader (GRPO by default). Settings resolve exactly as the
 * command line's: the stage's defaults, then the job's {@code align4j} extension settings, then
 * what the job's own fields decide (model, files, epochs, batch size, learning rate, seed).
 */
final class Stages {

    /**
     * Settings a client may not give under the extension key: the job's own fields decide them, or
     * they name server paths (a client's text is never a path here).
     */
    static final Map<String, String> NOT_EXTENSION = Map.ofEntries(
            Map.entry("model", "use the job's 'model'"), Map.entry("train_file", "use 'training_file'"),
            Map.entry("val_file", "use 'validation_file'"), Map.entry("prompts", "use 'training_file'"),
            Map.entry("output_dir", "the server places every job's run"), Map.entry("epochs", "use 'n_epochs'"),
            Map.entry("batch_size", "use 'batch_size'"), Map.entry("lr", "use 'learning_rate_multiplier'"),
            Map.entry("seed", "use the job's 'seed'"), Map.entry("beta", "use the dpo hyperparameter 'beta'"),
            Map.entry("grader", "use 'method.reinforcement.grader'"),
            Map.entry("reward_model", "use a score_model grader"), Map.entry("reward_fn", "use a grader"),
            Map.entry("adapter", "a server path"), Map.entry("ref_model", "a server path"),
            Map.entry("value_model", "a server path"), Map.entry("ptx_data", "a server path"));

    /** Record kinds each method trains on. */
    static final Map<JobRequest.Method, Set<String>> KINDS = Map.of(
            JobRequest.Method.SUPERVISED, Set.of("text", "completion", "chat"),
            JobRequest.Method.DPO, Set.of("preference", "ranking"),
            JobRequest.Method.REINFORCEMENT, Set.of("text", "completion", "chat", "preference", "ranking"));

    private Stages() {
    }

    static ObjectNode defaults(JobRequest.Method m) {
        return switch (m) {
            case SUPERVISED -> SftOptions.defaultSettings();
            case DPO -> DpoOptions.defaultSettings();
            case REINFORCEMENT -> {
                ObjectNode d = PpoOptions.defaultSettings();
                // OpenAI's reinforcement fine-tuning is critic-free: GRPO over groups of 4 samples
                d.put("estimator", "grpo");
                d.put("samples_per_prompt", 4);
                yield d;
            }
        };
    }

    static Class<?> type(JobRequest.Method m) {
        return switch (m) {
            case SUPERVISED -> SftOptions.class;
            case DPO -> DpoOptions.class;
            case REINFORCEMENT -> PpoOptions.class;
        };
    }

    /** The stage's configuration; a {@link org.align4j.train.SettingsException} or IOException names what is wrong. */
    static StageConfig<?> resolve(JobRequest.Method m, ObjectNode extension, String where, Map<String, JsonNode> settings)
            throws IOException {
        return StageConfig.resolve(defaults(m), type(m), extension, where, settings, m != JobRequest.Method.REINFORCEMENT);
    }

    /**
     * Runs the stage on kernels of its own, closed at the end: the process's shared kernels keep
     * scratch buffers as instance state, and the server decodes, scores and validates on other
     * threads while a job trains, so nothing the job computes may share them.
     */
    @SuppressWarnings("unchecked")
    static LoopResult run(JobRequest.Method m, StageConfig<?> cfg, PrintStream log) throws IOException {
        Kernels kernels = Backend.get().newKernels();
        try {
            // always resume: a job's run continues from its newest checkpoint, or starts when it has none
            return switch (m) {
                case SUPERVISED -> SftTrainer.run((StageConfig<SftOptions>) cfg, kernels, log, true);
                case DPO -> DpoTrainer.run((StageConfig<DpoOptions>) cfg, kernels, log, true);
                case REINFORCEMENT -> PpoTrainer.run((StageConfig<PpoOptions>) cfg, kernels, log, true);
            };
        } finally {
            if (kernels instanceof CpuKernels c) {
                c.close();
            }
        }
    }
}
