package org.align4j.core.model;

import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.align4j.core.kernels.Kernels;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The decoder families align4j builds from a shape (for {@code init} and {@code bench}): GPT-2,
 * Llama (SmolLM2 and Llama 3 are this shape) and Qwen2 (Llama with q/k/v biases).
 */
public enum Architecture {
    GPT2, LLAMA, QWEN2;

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * A model's shape. {@code kvHeads} and {@code intermediate} apply to the Llama family (GPT-2's
     * MLP is 4 x hidden); {@code tied} too (GPT-2 is always tied).
     */
    public record Shape(int vocab, int context, int hidden, int layers, int heads, int kvHeads, int intermediate,
                        boolean tied, double ropeTheta) {
    }

    /** The config of a model of {@code shape} whose end of sequence (and begin, for Llama) is {@code eos}. */
    public DecoderConfig config(Shape s, int eos) {
        if (this == GPT2) {
            return new GptConfig(s.vocab(), s.context(), s.hidden(), s.layers(), s.heads(), 1e-5, null, eos, eos,
                    Map.of());
        }
        return new LlamaConfig(this == QWEN2 ? "qwen2" : "llama", s.vocab(), s.hidden(), s.intermediate(), s.layers(),
                s.heads(), s.kvHeads(), 1e-5, s.ropeTheta(), null, s.context(), s.tied(), this == QWEN2, eos,
                List.of(eos));
    }

    /** A randomly initialised fp32 model of this family. */
    public DecoderModel randomModel(DecoderConfig config, Kernels kernels, long seed) {
        if (config instanceof GptConfig g) {
            return new GptModel(g, kernels, DataType.FLOAT).initialize(seed);
        }
        return new LlamaModel((LlamaConfig) config, kernels, DataType.FLOAT).initialize(seed);
    }
}
