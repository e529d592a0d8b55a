package org.align4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import org.align4j.core.backend.Backend;
import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.model.GptConfig;
import org.align4j.core.model.GptModel;
import org.align4j.core.tokenizer.BpeTokenizer;
import org.align4j.core.tokenizer.SpecialTokens;
import org.align4j.core.tokenizer.TokenizerFiles;
import org.nd4j.linalg.api.buffer.DataType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "init", mixinStandardHelpOptions = true,
        description = "Create a new randomly initialised GPT-2 model directory around a tokenizer (for pretraining).",
        footer = {"", "Example:",
                "  align4j init --tokenizer tok/ --layers 4 --d-model 192 --heads 4 --context 256 --out base-init/"})
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

    @Override
    public Integer call() throws Exception {
        if (Files.exists(out.resolve("model.safetensors"))) {
            throw new UserError(out + ": already holds a model");
        }
        BpeTokenizer tok = TokenizerFiles.load(tokenizer);
        int eos = SpecialTokens.endOfSequence(tok, tok.vocabSize() - 1);
        int vocab = vocabSize == null ? tok.vocabSize() : vocabSize;
        if (vocab < tok.vocabSize()) {
            throw new UserError("--vocab-size " + vocab + " is smaller than the tokenizer's " + tok.vocabSize()
                    + " tokens");
        }
        GptConfig cfg = new GptConfig(vocab, context, dModel, layers, heads, 1e-5, null, eos, eos,
                java.util.Map.of());
        GptModel m = new GptModel(cfg, Backend.get().kernels(), DataType.FLOAT).initialize(seed);
        ModelDirectory.save(m, out);
        TokenizerFiles.save(tok, out);
        System.err.printf("%s: %,d parameters (vocab %d, context %d, %d layers, d_model %d, %d heads)%n", out,
                m.parameterCount(), cfg.vocabSize(), context, layers, dModel, heads);
        return 0;
    }
}
