package org.align4j.core.tokenizer;

import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.util.UserInputException;

/**
 * How text is split into pieces before byte-level BPE: GPT-2's pattern; GPT-2's after each digit
 * is isolated (SmolLM2: {@code Digits(individual_digits)} then {@code ByteLevel}); Llama 3's
 * pattern (cl100k-like: case-insensitive contractions, up to 3 digits, newlines kept apart); and
 * Qwen2's (the same with single digits). Read from {@code tokenizer.json}'s {@code pre_tokenizer};
 * any other is refused rather than applied wrongly.
 */
public enum PreTokenizer {
    GPT2("'(?:[sdmt]|ll|ve|re)| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+", null),
    DIGITS_GPT2("'(?:[sdmt]|ll|ve|re)| ?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+", null),
    LLAMA3("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
            + "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                    + "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"),
    QWEN2("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
            + "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                    + "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+");

    private final Pattern pattern;
    /** The regex as Hugging Face's tokenizer.json spells it in a Split pre-tokenizer, or null. */
    private final String hfRegex;

    PreTokenizer(String regex, String hfRegex) {
        this.pattern = Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS);
        this.hfRegex = hfRegex;
    }

    public Pattern pattern() {
        return pattern;
    }

    /** The pre-tokenizer a {@code tokenizer.json} describes ({@code pre_tokenizer}); {@code where} names the file. */
    public static PreTokenizer of(JsonNode preTokenizer, String where) {
        if (preTokenizer == null || preTokenizer.isNull() || preTokenizer.isMissingNode()) {
            return GPT2;
        }
        String type = preTokenizer.path("type").asText();
        if (type.equals("ByteLevel")) {
            if (!preTokenizer.path("use_regex").asBoolean(true)) {
                throw unsupported(where, "ByteLevel without its regex");
            }
            return GPT2;
        }
        if (type.equals("Sequence")) {
            JsonNode steps = preTokenizer.path("pretokenizers");
            if (steps.size() == 1) {
                return of(steps.get(0), where);
            }
            if (steps.size() == 2 && steps.get(0).path("type").asText().equals("Digits")
                    && steps.get(0).path("individual_digits").asBoolean(false)
                    && steps.get(1).path("type").asText().equals("ByteLevel")
                    && steps.get(1).path("use_regex").asBoolean(true)) {
                return DIGITS_GPT2;
            }
            if (steps.size() == 2 && steps.get(0).path("type").asText().equals("Split")
                    && steps.get(1).path("type").asText().equals("ByteLevel")
                    && !steps.get(1).path("use_regex").asBoolean(true)) {
                String regex = steps.get(0).path("pattern").path("Regex").asText();
                for (PreTokenizer p : values()) {
                    if (regex.equals(p.hfRegex)) {
                        return p;
                    }
                }
                throw unsupported(where, "Split pattern " + regex);
            }
        }
        throw unsupported(where, preTokenizer.toString());
    }

    private static UserInputException unsupported(String where, String what) {
        return new UserInputException(where + ": pre_tokenizer not supported: " + what + " (supported: GPT-2's"
                + " ByteLevel, Digits + ByteLevel, and Llama 3's and Qwen2's Split patterns)");
    }
}
