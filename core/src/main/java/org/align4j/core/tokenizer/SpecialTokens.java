package org.align4j.core.tokenizer;

import java.util.HashSet;
import java.util.Set;

/** The special tokens align4j gives meaning to, and the ids they resolve to for a tokenizer. */
public final class SpecialTokens {

    public static final String END_OF_TEXT = "<|endoftext|>";
    public static final String END_OF_TURN = "<|im_end|>";

    private SpecialTokens() {
    }

    /** The id that ends a sequence: {@code <|endoftext|>} when the tokenizer has it, else {@code fallback}. */
    public static int endOfSequence(BpeTokenizer tokenizer, int fallback) {
        return tokenizer.specialId(END_OF_TEXT).orElse(fallback);
    }

    /** Ids at which generation stops: {@code eos}, and the tokenizer's end of text and end of chat turn. */
    public static Set<Integer> stops(BpeTokenizer tokenizer, int eos) {
        Set<Integer> stops = new HashSet<>();
        stops.add(eos);
        if (tokenizer != null) {
            tokenizer.specialId(END_OF_TEXT).ifPresent(stops::add);
            tokenizer.specialId(END_OF_TURN).ifPresent(stops::add);
        }
        return stops;
    }
}
