package org.align4j.core.model;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * What the stages need to know of a decoder's hyper-parameters, whichever family it is (GPT-2's
 * {@link GptConfig}, the Llama family's {@link LlamaConfig}): the vocabulary, the context, the
 * width a scalar head reads, the depth, and the token that ends a sequence.
 */
public interface DecoderConfig {

    int vocabSize();

    /** The longest sequence the model takes (GPT-2's n_positions, Llama's max_position_embeddings). */
    int contextLength();

    /** Width of the final hidden states (what a scalar head reads). */
    int hiddenSize();

    int layerCount();

    /** The config's end-of-sequence id (the first, where a config lists several). */
    int eosTokenId();

    /** Hugging Face's config.json of this model (a causal LM). */
    ObjectNode toJson();
}
