package org.align4j.train;

import java.util.ArrayList;
import java.util.List;

import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.checkpoint.ModelSource;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.model.LoraConfig;
import org.align4j.core.model.QuantizedWeights;
import org.align4j.core.model.Trainable;
import org.align4j.core.optim.LrSchedule;
import org.align4j.data.batch.Truncation;

/**
 * The settings every stage shares, under the snake_case names of the command-line options
 * ({@code --batch-size} is {@code batch_size} in a config file and in {@code RUN_DIR/config.json}).
 * A stage's own settings sit beside these in its {@link StageConfig}.
 */
public record TrainingOptions(String model, String adapter, String trainFile, String valFile, String outputDir,
                              @SettingRange(min = 0) int epochs,
                              @SettingRange(min = 0) int maxSteps,
                              @SettingRange(min = 1, max = 65536) int batchSize,
                              @SettingRange(min = 1) int gradAccum,
                              @SettingRange(min = 0, minExclusive = true) double lr,
                              @SettingRange(min = 0) int warmupSteps,
                              @SettingRange(min = 0, max = 1, maxExclusive = true) double warmupRatio,
                              LrSchedule.Kind schedule,
                              @SettingRange(min = 0, max = 1) double minLrRatio,
                              @SettingRange(min = 0) double weightDecay,
                              @SettingRange(min = 0, max = 1, maxExclusive = true) double adamBeta1,
                              @SettingRange(min = 0, max = 1, maxExclusive = true) double adamBeta2,
                              @SettingRange(min = 0, minExclusive = true) double adamEps,
                              @SettingRange(min = 0) double maxGradNorm,
                              @SettingRange(min = 0) int maxLength,
                              Truncation truncation,
                              @SettingRange(min = 0) int evalEvery,
                              @SettingRange(min = 0) int saveEvery,
                              @SettingRange(min = 0) int keepLast,
                              @SettingRange(min = 0) int earlyStoppingPatience,
                              @SettingRange(min = 1) int logEvery,
                              @SettingRange long seed,
                              String format, boolean skipBadRecords, List<String> freeze, Trainable.Only trainOnly,
                              @SettingRange(min = 0, max = 4096) int loraR,
                              @SettingRange(min = 0, minExclusive = true) double loraAlpha,
                              @SettingRange(min = 0, max = 1, maxExclusive = true) double loraDropout,
                              List<String> loraTargets, boolean useRslora, boolean useDora,
                              QuantizedWeights.Kind quantizeBase, LoraConfig.Method peft,
                              List<String> ia3Targets, List<String> ia3Feedforward,
                              @SettingRange(min = 1, max = 4096) int numVirtualTokens, String promptTuningInitText,
                              @SettingRange(min = 0, max = 65536) int prefixProjection,
                              boolean gradientCheckpointing) {

    /**
     * Defaults that suit a tiny model and GPT-2 alike: AdamW with 3% warmup and cosine decay to
     * 10%, batch 8, 3 epochs, clipping at 1.0, weight decay 0.01, an evaluation and a checkpoint
     * about ten times per run, the two newest checkpoints kept. Stages change the learning rate.
     */
    public static TrainingOptions defaults() {
        return new TrainingOptions(null, null, null, null, null, 3, 0, 8, 1, 2e-4, 0, 0.03, LrSchedule.Kind.COSINE, 0.1,
                0.01, 0.9, 0.999, 1e-8, 1.0, 0, Truncation.RIGHT, 0, 0, 2, 0, 1, 0, null, false, List.of(), null, 0, 16,
                0, List.of(), false, false, null, null, List.of(), null, 20, null, 0, false);
    }

    /** Tokens per sequence for a model of {@code contextLength}: {@code --max-length} up to it; 0: all of it. */
    public int sequenceLength(int contextLength) {
        return maxLength > 0 ? Math.min(maxLength, contextLength) : contextLength;
    }

    /** Tokens per sequence for {@code model}: its context less prompt tuning's virtual tokens, which come first. */
    public int sequenceLength(DecoderModel model) {
        return sequenceLength(model.config().contextLength() - model.virtualTokenCount());
    }

    /** Which tensors of a model of {@code nLayer} blocks train ({@code --freeze}, {@code --train-only}). */
    public Trainable trainable(int nLayer) {
        return Trainable.of(freeze, trainOnly, nLayer);
    }

    /**
     * The adapters' settings: IA3's with {@code --peft ia3}; LoRA's with {@code --peft lora} or
     * {@code --lora-r} above 0; else null (full fine-tuning).
     */
    public LoraConfig lora() {
        if (peft == LoraConfig.Method.IA3) {
            return LoraConfig.ia3(ia3Targets, ia3Feedforward);
        }
        if (peft == LoraConfig.Method.PROMPT_TUNING) {
            return LoraConfig.promptTuning(numVirtualTokens, promptTuningInitText);
        }
        if (peft == LoraConfig.Method.PREFIX_TUNING) {
            return LoraConfig.prefixTuning(numVirtualTokens, prefixProjection);
        }
        return loraR > 0 ? new LoraConfig(loraR, loraAlpha, loraTargets, loraDropout, useRslora, useDora) : null;
    }

    /** The model the stage starts from: {@code model}, with {@code adapter} on it when given. */
    public ModelSource source() {
        return ModelSource.of(model, adapter);
    }

    /** How a stage loads the model it trains: what trains, LoRA, a quantized base; adapters drawn from the seed. */
    public ModelDirectory.Setup setup(boolean scoreHead) {
        return new ModelDirectory.Setup(scoreHead, c -> trainable(c.layerCount()), lora(), seed, quantizeBase);
    }

    /**
     * Problems with the values, each naming its option; empty when they are fine. A value's range is
     * not checked here: {@link SettingRanges} did that for the flag or config key that gave it.
     */
    public List<String> problems(boolean needsTrainFile) {
        List<String> p = new ArrayList<>();
        check(p, model != null, "--model is required (a model directory)");
        check(p, !needsTrainFile || trainFile != null, "--train is required (a JSONL file)");
        check(p, outputDir != null, "--out is required (the run directory)");
        check(p, epochs > 0 || maxSteps > 0, "--epochs or --max-steps must be positive (got " + epochs + " and "
                + maxSteps + ")");
        check(p, freeze == null || freeze.isEmpty() || trainOnly == null,
                "--freeze and --train-only exclude each other: give one");
        boolean ia3 = peft == LoraConfig.Method.IA3;
        check(p, (loraR == 0 && peft == null) || ((freeze == null || freeze.isEmpty()) && trainOnly == null),
                "--lora-r and --peft train the adapters only: --freeze and --train-only do not apply with them");
        check(p, peft != LoraConfig.Method.LORA || loraR > 0, "--peft lora needs --lora-r R (the rank, above 0)");
        check(p, peft == null || peft == LoraConfig.Method.LORA || loraR == 0,
                "--lora-r is LoRA's rank: it does not apply to --peft " + peft);
        check(p, peft == LoraConfig.Method.PREFIX_TUNING || prefixProjection == 0,
                "--prefix-projection applies to prefix tuning: give --peft prefix_tuning too");
        check(p, peft == LoraConfig.Method.PROMPT_TUNING || promptTuningInitText == null,
                "--prompt-tuning-init-text applies to prompt tuning: give --peft prompt_tuning too");
        check(p, loraR > 0 || (loraDropout == 0 && !useRslora && !useDora),
                "--lora-dropout, --use-rslora and --use-dora apply to LoRA: give --lora-r too");
        check(p, ia3 || ((ia3Targets == null || ia3Targets.isEmpty()) && ia3Feedforward == null),
                "--ia3-targets and --ia3-feedforward apply to IA3: give --peft ia3 too");
        check(p, quantizeBase == null || loraR > 0 || peft != null,
                "--quantize-base needs --lora-r or --peft: a quantized base cannot train");
        return p;
    }

    private static void check(List<String> p, boolean ok, String message) {
        if (!ok) {
            p.add(message);
        }
    }
}
