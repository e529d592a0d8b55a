package org.align4j.train;

import java.util.ArrayList;
import java.util.List;

import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.checkpoint.ModelSource;
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
public record TrainingOptions(String model, String adapter, String trainFile, String valFile, String outputDir, int epochs,
                              int maxSteps, int batchSize, int gradAccum, double lr, int warmupSteps,
                              double warmupRatio, LrSchedule.Kind schedule, double minLrRatio, double weightDecay,
                              double adamBeta1, double adamBeta2, double adamEps, double maxGradNorm, int maxLength,
                              Truncation truncation, int evalEvery, int saveEvery, int keepLast,
                              int earlyStoppingPatience, int logEvery, long seed, String format,
                              boolean skipBadRecords, List<String> freeze, Trainable.Only trainOnly, int loraR,
                              double loraAlpha, double loraDropout, List<String> loraTargets,
                              QuantizedWeights.Kind quantizeBase) {

    /**
     * Defaults that suit a tiny model and GPT-2 alike: AdamW with 3% warmup and cosine decay to
     * 10%, batch 8, 3 epochs, clipping at 1.0, weight decay 0.01, an evaluation and a checkpoint
     * about ten times per run, the two newest checkpoints kept. Stages change the learning rate.
     */
    public static TrainingOptions defaults() {
        return new TrainingOptions(null, null, null, null, null, 3, 0, 8, 1, 2e-4, 0, 0.03, LrSchedule.Kind.COSINE, 0.1,
                0.01, 0.9, 0.999, 1e-8, 1.0, 0, Truncation.RIGHT, 0, 0, 2, 0, 1, 0, null, false, List.of(), null, 0, 16,
                0, List.of(), null);
    }

    /** Which tensors of a model of {@code nLayer} blocks train ({@code --freeze}, {@code --train-only}). */
    public Trainable trainable(int nLayer) {
        return Trainable.of(freeze, trainOnly, nLayer);
    }

    /** LoRA's settings with {@code --lora-r} above 0, else null (full fine-tuning). */
    public LoraConfig lora() {
        return loraR > 0 ? new LoraConfig(loraR, loraAlpha, loraTargets) : null;
    }

    /** The model the stage starts from: {@code model}, with {@code adapter} on it when given. */
    public ModelSource source() {
        return ModelSource.of(model, adapter);
    }

    /** How a stage loads the model it trains: what trains, LoRA, a quantized base; adapters drawn from the seed. */
    public ModelDirectory.Setup setup(boolean scoreHead) {
        return new ModelDirectory.Setup(scoreHead, c -> trainable(c.layerCount()), lora(), seed, quantizeBase);
    }

    /** Problems with the values, each naming its option; empty when they are fine. */
    public List<String> problems(boolean needsTrainFile) {
        List<String> p = new ArrayList<>();
        check(p, model != null, "--model is required (a model directory)");
        check(p, !needsTrainFile || trainFile != null, "--train is required (a JSONL file)");
        check(p, outputDir != null, "--out is required (the run directory)");
        check(p, epochs > 0 || maxSteps > 0, "--epochs or --max-steps must be positive (got " + epochs + " and "
                + maxSteps + ")");
        check(p, epochs >= 0 && maxSteps >= 0, "--epochs and --max-steps must be >= 0");
        positive(p, "--batch-size", batchSize);
        positive(p, "--grad-accum", gradAccum);
        check(p, lr > 0 && Double.isFinite(lr), "--lr must be a positive number, got " + lr);
        nonNegative(p, "--warmup-steps", warmupSteps);
        check(p, warmupRatio >= 0 && warmupRatio < 1, "--warmup-ratio must be in [0, 1), got " + warmupRatio);
        check(p, minLrRatio >= 0 && minLrRatio <= 1, "--min-lr-ratio must be in [0, 1], got " + minLrRatio);
        check(p, weightDecay >= 0 && Double.isFinite(weightDecay), "--weight-decay must be >= 0, got " + weightDecay);
        check(p, adamBeta1 >= 0 && adamBeta1 < 1, "--adam-beta1 must be in [0, 1), got " + adamBeta1);
        check(p, adamBeta2 >= 0 && adamBeta2 < 1, "--adam-beta2 must be in [0, 1), got " + adamBeta2);
        check(p, adamEps > 0, "--adam-eps must be positive, got " + adamEps);
        check(p, maxGradNorm >= 0 && Double.isFinite(maxGradNorm), "--max-grad-norm must be >= 0 (0: no clipping), got "
                + maxGradNorm);
        nonNegative(p, "--max-length", maxLength);
        nonNegative(p, "--eval-every", evalEvery);
        nonNegative(p, "--save-every", saveEvery);
        nonNegative(p, "--keep-last", keepLast);
        nonNegative(p, "--early-stopping-patience", earlyStoppingPatience);
        positive(p, "--log-every", logEvery);
        check(p, freeze == null || freeze.isEmpty() || trainOnly == null,
                "--freeze and --train-only exclude each other: give one");
        nonNegative(p, "--lora-r", loraR);
        check(p, loraR == 0 || ((freeze == null || freeze.isEmpty()) && trainOnly == null),
                "--lora-r trains the adapters only: --freeze and --train-only do not apply with it");
        check(p, loraAlpha > 0, "--lora-alpha must be above 0, got " + loraAlpha);
        check(p, loraDropout == 0, "--lora-dropout: only 0 is supported yet, got " + loraDropout);
        check(p, quantizeBase == null || loraR > 0, "--quantize-base needs --lora-r: a quantized base cannot train");
        return p;
    }

    private static void positive(List<String> p, String option, int v) {
        check(p, v > 0, option + " must be at least 1, got " + v);
    }

    private static void nonNegative(List<String> p, String option, int v) {
        check(p, v >= 0, option + " must be >= 0, got " + v);
    }

    private static void check(List<String> p, boolean ok, String message) {
        if (!ok) {
            p.add(message);
        }
    }
}
