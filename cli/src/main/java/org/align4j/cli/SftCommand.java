package org.align4j.cli;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

import org.align4j.core.backend.Backend;
import org.align4j.core.run.RunDirectory;
import org.align4j.sft.SftConfig;
import org.align4j.sft.SftResult;
import org.align4j.sft.SftTrainer;
import org.align4j.sft.TrainingFailure;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "sft", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Supervised fine-tuning (stage 1). Text records train every token, prompt-completion records",
                "the completion, chat records the assistant turns. --model may be a base model or a model already",
                "fine-tuned by align4j (incremental training). Writes RUN_DIR/config.json, metrics.jsonl,",
                "events.jsonl, checkpoints/step-N/, best/ (with --val) and final/."},
        footer = {"", "Defaults: lr 2e-4, 3% warmup then cosine to 10%, batch 8, 3 epochs, clip 1.0, weight decay 0.01,",
                "evaluation and checkpoint ~10 times per run, keep the last 2 checkpoints.", "", "Examples:",
                "  align4j sft --model examples/base-model --train examples/emojibot/train.jsonl \\",
                "      --val examples/emojibot/val.jsonl --out runs/emojibot --epochs 8 --lr 1e-3",
                "  align4j sft --config examples/emojibot/sft.json          (settings from a file, flags override)",
                "  align4j sft --config examples/emojibot/sft.json --resume (continue after a crash or cancel)"})
final class SftCommand implements Callable<Integer> {

    @Option(names = "--model", description = "model directory (HF GPT-2 layout, with tokenizer)")
    String model;
    @Option(names = "--train", description = "training data (JSONL: text, completion or chat)")
    String train;
    @Option(names = "--val", description = "validation data")
    String val;
    @Option(names = "--out", description = "run directory")
    String out;
    @Option(names = "--config", description = "JSON file of settings (snake_case names, as in RUN_DIR/config.json)")
    Path config;
    @Option(names = "--epochs")
    Integer epochs;
    @Option(names = "--max-steps", description = "optimizer steps (overrides --epochs)")
    Integer maxSteps;
    @Option(names = "--batch-size")
    Integer batchSize;
    @Option(names = "--grad-accum", description = "micro-batches per optimizer step")
    Integer gradAccum;
    @Option(names = "--lr")
    Double lr;
    @Option(names = "--warmup-steps")
    Integer warmupSteps;
    @Option(names = "--schedule", description = "constant, cosine or linear")
    String schedule;
    @Option(names = "--weight-decay")
    Double weightDecay;
    @Option(names = "--max-grad-norm")
    Double maxGradNorm;
    @Option(names = "--max-length", description = "tokens per sequence (default: the model's n_positions)")
    Integer maxLength;
    @Option(names = "--truncation", description = "right (keep the start) or left (keep the end)")
    String truncation;
    @Option(names = "--eval-every", description = "steps between evaluations")
    Integer evalEvery;
    @Option(names = "--save-every", description = "steps between checkpoints")
    Integer saveEvery;
    @Option(names = "--keep-last", description = "checkpoints to keep (0: all)")
    Integer keepLast;
    @Option(names = "--early-stopping-patience", description = "stop after this many evaluations without improvement")
    Integer patience;
    @Option(names = "--seed")
    Long seed;
    @Option(names = "--format", description = "force the record format: text, completion or chat")
    String format;
    @Option(names = "--skip-bad-records", description = "leave out invalid records (reported) instead of refusing")
    Boolean skipBad;
    @Option(names = "--no-packing", description = "do not pack text records into full sequences")
    Boolean noPacking;
    @Option(names = "--show-samples", description = "at the end, print answers to this many validation prompts")
    Integer showSamples;
    @Option(names = "--resume", description = "continue from the latest checkpoint in --out")
    boolean resume;

    @Override
    public Integer call() throws Exception {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("model", model);
        o.put("train_file", train);
        o.put("val_file", val);
        o.put("output_dir", out);
        o.put("epochs", epochs);
        o.put("max_steps", maxSteps);
        o.put("batch_size", batchSize);
        o.put("grad_accum", gradAccum);
        o.put("lr", lr);
        o.put("warmup_steps", warmupSteps);
        o.put("schedule", schedule);
        o.put("weight_decay", weightDecay);
        o.put("max_grad_norm", maxGradNorm);
        o.put("max_length", maxLength);
        o.put("truncation", truncation);
        o.put("eval_every", evalEvery);
        o.put("save_every", saveEvery);
        o.put("keep_last", keepLast);
        o.put("early_stopping_patience", patience);
        o.put("seed", seed);
        o.put("format", format);
        o.put("skip_bad_records", skipBad);
        o.put("packing", noPacking == null ? null : !noPacking);
        o.put("show_samples", showSamples);
        SftConfig cfg = SftConfig.resolve(config, o);
        Backend backend = Backend.get();
        System.err.println("backend: " + backend.description());
        try {
            SftResult r = new SftTrainer(cfg, backend.kernels(), System.err).run(resume);
            return r.status() == RunDirectory.Status.SUCCEEDED || r.status() == RunDirectory.Status.CANCELLED ? 0 : 1;
        } catch (TrainingFailure e) {
            System.err.println("align4j: " + e.getMessage());
            return 2;
        }
    }
}
