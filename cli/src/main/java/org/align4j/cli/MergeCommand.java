package org.align4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import org.nd4j.linalg.api.buffer.DataType;

import org.align4j.core.backend.Backend;
import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.checkpoint.PeftAdapter;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.output.OutputCheck;
import org.align4j.core.run.Checkpoints;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "merge", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Merge a LoRA adapter into its base and write a plain model directory: each targeted weight"
                + " becomes W + (alpha / r) Aᵀ Bᵀ, as PEFT's merge_and_unload. The result loads anywhere a model does,"
                + " with no adapter code and no extra work per token.",
        footer = {"", "Examples:",
                "  align4j merge --model runs/sft-lora/final --out runs/sft-merged      (the adapter names its base)",
                "  align4j merge --model examples/base-model --adapter runs/sft-lora/final --out runs/sft-merged"})
final class MergeCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "an adapter directory, or the base with --adapter")
    Path model;
    @Option(names = "--adapter", paramLabel = "DIR", description = "the adapter to put on --model (default: --model is the adapter)")
    Path adapter;
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "the merged model directory to write")
    Path out;
    @Mixin
    ForceOption force;

    @Override
    public Integer call() throws Exception {
        Path adapterDir = adapter != null ? adapter : model;
        if (!PeftAdapter.isAdapter(adapterDir)) {
            throw new UserError(adapterDir + ": not a LoRA adapter (no " + PeftAdapter.CONFIG + ")");
        }
        PeftAdapter.Info info = PeftAdapter.read(adapterDir);
        // the base as the adapter names it, read from here or from the adapter's directory
        Path named = Path.of(info.baseModel());
        OutputCheck.of("--out", out).asWholeDirectory().input("--model", model).input("--adapter", adapter)
                .input("base of the adapter", adapter != null ? null : named)
                .input("base of the adapter", adapter != null ? null : adapterDir.resolve(named))
                .check(force.force);
        boolean head = info.scoreHead();
        DecoderModel adapted = ModelDirectory.loadAdapter(adapterDir, adapter != null ? model : null,
                Backend.get().kernels(), DataType.FLOAT, head);
        DecoderModel merged = adapted.merged();
        if (Files.exists(out) && !Files.isDirectory(out)) {
            throw new UserError(out + ": exists and is not a directory");
        }
        // tokenizer files travel with align4j's adapters; a PEFT adapter from elsewhere has them on its base
        Path tokenizer = Files.isRegularFile(adapterDir.resolve("vocab.json"))
                || Files.isRegularFile(adapterDir.resolve("tokenizer.json")) ? adapterDir : adapted.adapterBase();
        Checkpoints.writeModel(merged, tokenizer, out);
        Console.stdout().printf("%s: %s merged into %s (%,d parameters)%n", out, adapterDir, adapted.adapterBase(),
                merged.parameterCount());
        Console.stdout().flush();
        return 0;
    }
}
