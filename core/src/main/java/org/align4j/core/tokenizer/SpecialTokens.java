package org.align4j.core.tokenizer;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** The special tokens align4j gives meaning to, and the ids they resolve to for a tokenizer. */
public final class SpecialTokens {

    public static final String END_OF_TEXT = "<|endoftext|>";
    public static final String END_OF_TURN = "<|im_end|>";
    /**
     * Every token that ends a turn or a text in the families align4j loads: GPT-2's and ChatML's
     * (Qwen, SmolLM2), and Llama 3's end of text, end of turn and end of message.
     */
    private static final List<String> STOPS = List.of(END_OF_TEXT, END_OF_TURN, "<|end_of_text|>", "<|eot_id|>",
            "<|eom_id|>");

    private SpecialTokens() {
    }

    /** The id that ends a sequence: {@code <|endoftext|>} when the tokenizer has it, else {@code fallback}. */
    public static int endOfSequence(BpeTokenizer tokenizer, int fallback) {
        return tokenizer.specialId(END_OF_TEXT).orElse(fallback);
    }

    /** Ids at which generation stops: {@code eos}, and those of the tokenizer's end-of-text and end-of-turn tokens. */
    public static Set<Integer> stops(BpeTokenizer tokenizer, int eos) {
        Set<Integer> stops = new HashSet<>();
        stops.add(eos);
        if (tokenizer != null) {
            for (String s : STOPS) {
                tokenizer.specialId(s).ifPresent(stops::add);
            }
        }
        return stops;
    }
}
