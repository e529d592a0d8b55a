package org.align4j.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import org.align4j.core.backend.Backend;
import org.align4j.core.checkpoint.LlamaDirectory;
import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.model.Architecture;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.model.LlamaModel;
import org.align4j.core.output.OutputCheck;
import org.align4j.core.tokenizer.BpeTokenizer;
import org.align4j.core.tokenizer.SpecialTokens;
import org.align4j.core.tokenizer.TokenizerFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "init", mixinStandardHelpOptions = true,
        description = "Create a new randomly initialised model directory (GPT-2, Llama or Qwen2 layout) around a"
                + " tokenizer (for pretraining, or to try a family's shape).",
        footer = {"", "Examples:",
                "  align4j init --tokenizer tok/ --layers 4 --d-model 192 --heads 4 --context 256 --out base-init/",
                "  align4j init --tokenizer tok/ --arch llama --layers 2 --d-model 64 --heads 4 --kv-heads 2"
                        + " --dtype bf16 --shard-mb 1 --out llama-init/"})
final class InitCommand implements Callable<Integer> {

    @Option(names = "--tokenizer", required = true, description = "tokenizer directory or tokenizer.json")
    Path tokenizer;
    @Range(min = 1, max = 1024)
    @Option(names = "--layers", defaultValue = "4", description = "transformer blocks (default: ${DEFAULT-VALUE})")
    int layers;
    @Range(min = 1, max = 65536)
    @Option(names = "--d-model", defaultValue = "192", description = "width of the residual stream, n_embd (default: ${DEFAULT-VALUE})")
    int dModel;
    @Range(min = 1, max = 1024)
    @Option(names = "--heads", defaultValue = "4", description = "attention heads; must divide --d-model (default: ${DEFAULT-VALUE})")
    int heads;
    @Range(min = 1, max = 1048576)
    @Option(names = "--context", defaultValue = "256", description = "n_positions")
    int context;
    @Range(min = 1, max = 10000000)
    @Option(names = "--vocab-size", paramLabel = "N", description = "embedding rows; at least the tokenizer's size,"
            + " larger pads the vocabulary (rows the tokenizer never produces; GPT-2 checkpoints pad to 50257,"
            + " nanoGPT to 50304) (default: the tokenizer's size)")
    Integer vocabSize;
    @Range()
    @Option(names = "--seed", defaultValue = "0", description = "initialisation seed (default: ${DEFAULT-VALUE})")
    long seed;
    @Option(names = "--out", required = true, description = "model directory to write")
    Path out;
    @Mixin
    ForceOption force;
    @Mixin
    ArchitectureOptions architecture;

    /** How Llama-family weights are stored. */
    enum StoredType { F32, BF16 }

    @Option(names = "--dtype", defaultValue = "f32", description = "Llama/Qwen2: stored precision,"
            + " ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE})")
    StoredType dtype;
    @Range(min = 1)
    @Option(names = "--shard-mb", defaultValue = "5000", paramLabel = "MB", description = "Llama/Qwen2: shards of at most"
            + " this size with model.safetensors.index.json, as Hugging Face writes them (default: ${DEFAULT-VALUE})")
    long shardMb;

    @Override
    public Integer call() throws Exception {
        OutputCheck.of("--out", out).input("--tokenizer", tokenizer).check(force.force);
        BpeTokenizer tok = TokenizerFiles.load(tokenizer);
        int eos = SpecialTokens.endOfSequence(tok, tok.vocabSize() - 1);
        int vocab = vocabSize == null ? tok.vocabSize() : vocabSize;
        if (vocab < tok.vocabSize()) {
            throw new UserError("--vocab-size " + vocab + " is smaller than the tokenizer's " + tok.vocabSize()
                    + " tokens");
        }
        Architecture arch = architecture.arch;
        Architecture.Shape shape = architecture.shape(vocab, context, dModel, layers, heads);
        DecoderModel m = arch.randomModel(arch.config(shape, eos), Backend.get().kernels(), seed);
        if (m instanceof LlamaModel llama) {
            LlamaDirectory.save(llama, out, dtype.name(), shardMb * 1_000_000L);
        } else {
            ModelDirectory.save(m, out);
        }
        TokenizerFiles.save(tok, out);
        System.err.printf("%s: %s, %,d parameters (vocab %d, context %d, %d layers, d_model %d, %d heads)%n", out,
                m.family(), m.parameterCount(), vocab, context, layers, dModel, heads);
        return 0;
    }
}
