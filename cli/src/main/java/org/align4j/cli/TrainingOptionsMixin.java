package org.align4j.cli;

import java.nio.file.Path;
import java.util.List;

import org.align4j.core.model.LoraConfig;
import org.align4j.core.model.QuantizedWeights;
import org.align4j.core.model.Trainable;
import org.align4j.core.optim.LrSchedule;
import org.align4j.data.batch.Truncation;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The options every training stage shares (sft, reward, dpo, ppo). Each option's longest name,
 * without dashes and in snake_case, is its key in a {@code --config} file and in
 * {@code RUN_DIR/config.json}; defaults come from the stage ({@link StageCommand}). The fields
 * are read through the parse result, never one by one, so adding an option here adds the
 * setting everywhere. Numeric options have no range here: theirs is the setting's, declared on
 * {@link org.align4j.train.TrainingOptions} and checked for flags and config files alike.
 */
final class TrainingOptionsMixin {

    @Option(names = "--model", paramLabel = "DIR", description = "model directory (Hugging Face GPT-2, Llama or Qwen2 layout, with tokenizer), or a LoRA adapter directory")
    String model;
    @Option(names = "--adapter", paramLabel = "DIR", description = "a LoRA adapter directory to put on --model (its base); the run starts from that adapter's model")
    String adapter;
    @Option(names = {"--train", "--train-file"}, paramLabel = "FILE", description = "training data (JSONL)")
    String train;
    @Option(names = {"--val", "--val-file"}, paramLabel = "FILE", description = "validation data (JSONL)")
    String val;
    @Option(names = {"--out", "--output-dir"}, paramLabel = "RUN_DIR", description = "run directory to write")
    String out;
    @Option(names = "--config", paramLabel = "FILE",
            description = "JSON settings (keys: option names in snake_case, as in RUN_DIR/config.json); flags override")
    Path config;
    @Option(names = "--resume", description = "continue the run in --out from its latest checkpoint")
    boolean resume;
    @Mixin
    ForceOption force;

    @Option(paramLabel = "N", names = "--epochs", description = "passes over the training data (default: ${DEFAULT-VALUE})")
    Integer epochs;
    @Option(paramLabel = "N", names = "--max-steps", description = "optimizer steps; overrides --epochs when > 0 (default: ${DEFAULT-VALUE})")
    Integer maxSteps;
    @Option(paramLabel = "N", names = "--batch-size", description = "examples per micro-batch (default: ${DEFAULT-VALUE})")
    Integer batchSize;
    @Option(paramLabel = "N", names = "--grad-accum", description = "micro-batches per optimizer step (default: ${DEFAULT-VALUE})")
    Integer gradAccum;
    @Option(paramLabel = "X", names = "--lr", description = "peak learning rate (default: ${DEFAULT-VALUE})")
    Double lr;
    @Option(paramLabel = "N", names = "--warmup-steps", description = "linear warmup steps; 0 uses --warmup-ratio (default: ${DEFAULT-VALUE})")
    Integer warmupSteps;
    @Option(paramLabel = "X", names = "--warmup-ratio", description = "warmup as a fraction of all steps (default: ${DEFAULT-VALUE})")
    Double warmupRatio;
    @Option(names = "--schedule", description = "learning-rate decay after warmup: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE})")
    LrSchedule.Kind schedule;
    @Option(paramLabel = "X", names = "--min-lr-ratio", description = "final learning rate as a fraction of --lr (default: ${DEFAULT-VALUE})")
    Double minLrRatio;
    @Option(paramLabel = "X", names = "--weight-decay", description = "AdamW decoupled weight decay, not on biases and norms (default: ${DEFAULT-VALUE})")
    Double weightDecay;
    @Option(paramLabel = "X", names = "--adam-beta1", description = "AdamW beta1 (default: ${DEFAULT-VALUE})")
    Double adamBeta1;
    @Option(paramLabel = "X", names = "--adam-beta2", description = "AdamW beta2 (default: ${DEFAULT-VALUE})")
    Double adamBeta2;
    @Option(paramLabel = "X", names = "--adam-eps", description = "AdamW epsilon (default: ${DEFAULT-VALUE})")
    Double adamEps;
    @Option(paramLabel = "X", names = "--max-grad-norm", description = "clip the global gradient norm; 0: no clipping (default: ${DEFAULT-VALUE})")
    Double maxGradNorm;
    @Option(paramLabel = "N", names = "--max-length", description = "tokens per sequence; 0: the model's n_positions (default: ${DEFAULT-VALUE})")
    Integer maxLength;
    @Option(names = "--truncation", description = "what to cut from longer sequences: right (the end) or left (the start) (default: ${DEFAULT-VALUE})")
    Truncation truncation;
    @Option(paramLabel = "N", names = "--eval-every", description = "steps between evaluations; 0: ten per run (default: ${DEFAULT-VALUE})")
    Integer evalEvery;
    @Option(paramLabel = "N", names = "--save-every", description = "steps between checkpoints; 0: ten per run (default: ${DEFAULT-VALUE})")
    Integer saveEvery;
    @Option(paramLabel = "N", names = "--keep-last", description = "checkpoints to keep; 0: all (default: ${DEFAULT-VALUE})")
    Integer keepLast;
    @Option(paramLabel = "N", names = "--early-stopping-patience", description = "stop after this many evaluations without improvement; 0: never (default: ${DEFAULT-VALUE})")
    Integer earlyStoppingPatience;
    @Option(paramLabel = "N", names = "--log-every", description = "steps between rows of metrics.jsonl (default: ${DEFAULT-VALUE})")
    Integer logEvery;
    @Option(paramLabel = "N", names = "--seed", description = "fixes data order, initialisation and sampling (default: ${DEFAULT-VALUE})")
    Long seed;
    @Option(names = "--format", description = "force the record format of the data files (default: detected)")
    String format;
    @Option(names = "--skip-bad-records", description = "leave out invalid records (listed) instead of refusing the data")
    Boolean skipBadRecords;
    @Option(names = "--freeze", split = ",", paramLabel = "PART",
            description = "parts that do not train (no gradient, no optimizer state): embeddings, layers:A-B,"
                    + " layers:N, attention, mlp, norms, final-norm; e.g. --freeze embeddings,layers:0-3")
    List<String> freeze;
    @Option(names = "--train-only", paramLabel = "KIND",
            description = "train only ${COMPLETION-CANDIDATES} (biases: BitFit); a scalar head always trains")
    Trainable.Only trainOnly;
    @Option(names = "--lora-r", paramLabel = "R", description = "LoRA rank: train adapters of rank R on --lora-targets, the base frozen; 0: full fine-tuning (default: ${DEFAULT-VALUE})")
    Integer loraR;
    @Option(names = "--lora-alpha", paramLabel = "A", description = "LoRA scaling: the update is multiplied by A / R (default: ${DEFAULT-VALUE})")
    Double loraAlpha;
    @Option(names = "--lora-dropout", paramLabel = "P", description = "dropout on the adapters' input while training (PEFT's lora_dropout; masks drawn from --seed and the step, so --resume is exact), e.g. 0.05 (default: ${DEFAULT-VALUE})")
    Double loraDropout;
    @Option(names = "--lora-targets", split = ",", paramLabel = "MODULE",
            description = "modules that get adapters, matched as PEFT does (a name selects the modules it ends): GPT-2's c_attn, c_proj (both projections), c_fc, attn.c_proj, mlp.c_proj; the Llama family's q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj (default: PEFT's, c_attn for GPT-2, q_proj,v_proj for the Llama family)")
    List<String> loraTargets;
    @Option(names = "--use-rslora", description = "rank-stabilised LoRA: scale the update by A / sqrt(R) instead of A / R (PEFT's use_rslora)")
    Boolean useRslora;
    @Option(names = "--use-dora", description = "DoRA: a trained magnitude per output feature over the weight's direction W + s B A, normalised per feature (PEFT's use_dora, lora_magnitude_vector)")
    Boolean useDora;
    @Option(names = "--peft", paramLabel = "METHOD",
            description = "parameter-efficient method, the base frozen: ${COMPLETION-CANDIDATES} (PEFT's peft_type); without it --lora-r above 0 means lora, else full fine-tuning")
    LoraConfig.Method peft;
    @Option(names = "--ia3-targets", split = ",", paramLabel = "MODULE",
            description = "IA3: modules whose output (or, for --ia3-feedforward ones, input) a trained vector scales, matched as --lora-targets (default: PEFT's, c_attn,mlp.c_proj for GPT-2, k_proj,v_proj,down_proj for Llama, q_proj,v_proj,down_proj for Qwen2)")
    List<String> ia3Targets;
    @Option(names = "--ia3-feedforward", split = ",", paramLabel = "MODULE",
            description = "IA3: the targets treated as feedforward, their input scaled (PEFT's feedforward_modules; default: PEFT's, mlp.c_proj for GPT-2, down_proj for the Llama family)")
    List<String> ia3Feedforward;
    @Option(names = "--num-virtual-tokens", paramLabel = "N",
            description = "prompt tuning: trained embeddings before every sequence; prefix tuning: trained keys and values before every sequence in every layer (PEFT's num_virtual_tokens; they take the first N positions of the context) (default: ${DEFAULT-VALUE})")
    Integer numVirtualTokens;
    @Option(names = "--prompt-tuning-init-text", paramLabel = "TEXT",
            description = "prompt tuning: start the virtual tokens at the embeddings of TEXT's tokens, repeated or cut to --num-virtual-tokens (PEFT's prompt_tuning_init TEXT); default: N(0, 1) (RANDOM)")
    String promptTuningInitText;
    @Option(names = "--prefix-projection", paramLabel = "H",
            description = "prefix tuning: train the keys and values through a reparameterisation MLP tanh(E W0 + b0) W2 + b2 of hidden width H (PEFT's prefix_projection with encoder_hidden_size H; saved as PEFT saves it, the table, with the MLP in align4j_prefix_encoder.safetensors beside it); 0: the table trains itself (default: ${DEFAULT-VALUE})")
    Integer prefixProjection;
    @Option(names = "--quantize-base", paramLabel = "KIND",
            description = "QLoRA: keep the frozen base's block matrices as ${COMPLETION-CANDIDATES} (absmax scale per block of 64), dequantized layer by layer; needs --lora-r")
    QuantizedWeights.Kind quantizeBase;
    @Option(names = "--gradient-checkpointing", description = "activation recomputation: keep only each block's input in the forward and run the block again in the backward; the same gradients bit for bit, a fraction of the activation memory for about a third more compute (a run may resume with it switched on or off)")
    Boolean gradientCheckpointing;
}
