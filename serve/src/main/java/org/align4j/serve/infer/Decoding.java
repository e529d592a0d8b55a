package org.align4j.serve.infer;

import java.util.List;
import java.util.Set;

import org.align4j.core.generate.SamplingConfig;
import org.align4j.serve.ApiError;

/**
 * The sampling fields chat and text completions share, as OpenAI defines them. {@code maxTokens}
 * null means "up to the context"; {@code seed} null means a fresh one; {@code topLogprobs} is the
 * number of alternatives per token when {@code logprobs} is on.
 */
record Decoding(Integer maxTokens, double temperature, double topP, int topK, int n, List<String> stop, Long seed,
                boolean logprobs, int topLogprobs, boolean stream, boolean includeUsage, boolean ignoreEos) {

    /** Fields of either endpoint that would change the output in ways align4j does not implement. */
    static final Set<String> UNSUPPORTED = Set.of("logit_bias", "presence_penalty", "frequency_penalty");

    /** The shared fields of {@code f}; {@code maxTokens} is read by the caller (the two APIs name it differently). */
    static Decoding parse(Fields f, Integer maxTokens) {
        f.refuse(UNSUPPORTED);
        double temperature = f.number("temperature", 1.0, 0, 2);
        double topP = f.number("top_p", 1.0, 0, 1);
        if (topP == 0) {
            throw ApiError.invalid("top_p", "Invalid 'top_p': must be greater than 0 (use temperature 0 for greedy).");
        }
        Long topK = f.integer("top_k", 0, Integer.MAX_VALUE); // an extension of vLLM's; 0 = off
        Long n = f.integer("n", 1, 128);
        List<String> stop = f.stringOrList("stop", 4);
        for (int i = 0; i < stop.size(); i++) {
            if (stop.get(i).isEmpty()) {
                throw ApiError.invalid("stop", "'stop' strings must not be empty.");
            }
        }
        Long seed = f.integer("seed", Long.MIN_VALUE, Long.MAX_VALUE);
        boolean stream = f.bool("stream", false);
        boolean includeUsage = false;
        if (f.has("stream_options")) {
            if (!stream) {
                throw ApiError.invalid("stream_options", "'stream_options' is only allowed with 'stream': true.");
            }
            includeUsage = Fields.object(f.raw("stream_options"), "stream_options").bool("include_usage", false);
        }
        // vLLM's extension: decode max_tokens whatever the model says (load generators need fixed lengths)
        boolean ignoreEos = f.bool("ignore_eos", false);
        return new Decoding(maxTokens, temperature, topP, topK == null ? 0 : topK.intValue(),
                n == null ? 1 : n.intValue(), stop, seed, false, 0, stream, includeUsage, ignoreEos);
    }

    Decoding withLogprobs(boolean on, int top) {
        return new Decoding(maxTokens, temperature, topP, topK, n, stop, seed, on, top, stream, includeUsage,
                ignoreEos);
    }

    /** The sampling of one request: the model's stop tokens, {@code seed} resolved. */
    SamplingConfig sampling(int defaultMax, Set<Integer> stopTokens, long seed) {
        return new SamplingConfig(maxTokens == null ? defaultMax : maxTokens, temperature, topK, topP, seed,
                logprobs ? Math.max(topLogprobs, 0) : 0, ignoreEos ? Set.of() : stopTokens, stop);
    }
}
