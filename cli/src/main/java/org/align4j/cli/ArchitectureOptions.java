package org.align4j.cli;

import java.util.Locale;

import org.align4j.core.model.Architecture;
import picocli.CommandLine.Option;

/** The family of a model built from a shape, and the Llama family's extra dimensions (init, bench). */
final class ArchitectureOptions {

    @Option(names = "--arch", defaultValue = "gpt2", paramLabel = "FAMILY",
            description = "model family: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE})")
    Architecture arch;
    @Range(min = 1, max = 1024)
    @Option(names = "--kv-heads", paramLabel = "N", description = "Llama/Qwen2: key/value heads, dividing --heads"
            + " (grouped-query attention) (default: as many as --heads)")
    Integer kvHeads;
    @Range(min = 1, max = 1048576)
    @Option(names = "--intermediate-size", paramLabel = "N", description = "Llama/Qwen2: SwiGLU width"
            + " (default: 8/3 of --d-model, rounded up to a multiple of 64)")
    Integer intermediate;
    @Option(names = "--untied-head", description = "Llama/Qwen2: an output layer of its own (lm_head) instead of the"
            + " embedding's transpose")
    boolean untied;
    @Range(min = 1, max = 1e12)
    @Option(names = "--rope-theta", defaultValue = "10000", paramLabel = "X",
            description = "Llama/Qwen2: rotary base (default: ${DEFAULT-VALUE})")
    double ropeTheta;

    Architecture.Shape shape(int vocab, int context, int hidden, int layers, int heads) {
        if (hidden % heads != 0) {
            throw new UserError("--heads " + heads + " must divide --d-model " + hidden + " (each head gets --d-model"
                    + " / --heads dimensions)");
        }
        if (arch != Architecture.GPT2 && (hidden / heads) % 2 != 0) {
            throw new UserError("--d-model " + hidden + " / --heads " + heads + " = " + hidden / heads + ": --arch "
                    + arch.name().toLowerCase(Locale.ROOT) + " needs an even head size (rotary embeddings turn"
                    + " pairs of dimensions)");
        }
        int kv = kvHeads == null ? heads : kvHeads;
        if (heads % kv != 0) {
            throw new UserError("--kv-heads " + kv + " must divide --heads " + heads);
        }
        int inter = intermediate != null ? intermediate : (int) Math.ceil(8.0 * hidden / 3 / 64) * 64;
        return new Architecture.Shape(vocab, context, hidden, layers, heads, kv, inter, !untied, ropeTheta);
    }
}
