package org.align4j.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import org.align4j.core.util.Json;
import org.align4j.core.util.UserInputException;

/**
 * The pre-tokenizers of GPT-2, SmolLM2 (digits isolated, then GPT-2's), Llama 3 and Qwen2 split
 * text exactly as Python's {@code regex} module does with Hugging Face's patterns
 * (tools/reference/pretokenizer_splits.py), over mixed scripts, digits, contractions, newlines and
 * emoji; and each is recognised from its tokenizer.json description.
 */
class PreTokenizerTest {

    @Test
    void splitsAsPythonRegexDoes() throws Exception {
        JsonNode fixture = Json.MAPPER.readTree(Path.of("src/test/resources/fixtures/pretokenizers/splits.json")
                .toFile());
        Map<String, PreTokenizer> kinds = Map.of("gpt2", PreTokenizer.GPT2, "digits_gpt2", PreTokenizer.DIGITS_GPT2,
                "llama3", PreTokenizer.LLAMA3, "qwen2", PreTokenizer.QWEN2);
        int checked = 0;
        for (JsonNode c : fixture.get("cases")) {
            String text = c.get("text").asText();
            for (Map.Entry<String, PreTokenizer> k : kinds.entrySet()) {
                List<String> want = new ArrayList<>();
                c.get(k.getKey()).forEach(p -> want.add(p.asText()));
                List<String> got = new ArrayList<>();
                Matcher m = k.getValue().pattern().matcher(text);
                while (m.find()) {
                    got.add(m.group());
                }
                assertEquals(want, got, k.getKey() + " on " + text);
                checked++;
            }
        }
        assertEquals(24, checked);
    }

    @Test
    void recognisedFromTokenizerJson() throws Exception {
        String llama3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}|"
                + " ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+";
        JsonNode split = Json.MAPPER.readTree("{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\","
                + " \"pattern\": {\"Regex\": \"" + llama3 + "\"}, \"behavior\": \"Isolated\", \"invert\": false},"
                + " {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true,"
                + " \"use_regex\": false}]}");
        assertEquals(PreTokenizer.LLAMA3, PreTokenizer.of(split, "t.json"));
        JsonNode qwen = Json.MAPPER.readTree(split.toString().replace("\\\\p{N}{1,3}", "\\\\p{N}"));
        assertEquals(PreTokenizer.QWEN2, PreTokenizer.of(qwen, "t.json"));
        JsonNode smol = Json.MAPPER.readTree("{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Digits\","
                + " \"individual_digits\": true}, {\"type\": \"ByteLevel\", \"add_prefix_space\": false,"
                + " \"use_regex\": true}]}");
        assertEquals(PreTokenizer.DIGITS_GPT2, PreTokenizer.of(smol, "t.json"));
        assertEquals(PreTokenizer.GPT2, PreTokenizer.of(Json.MAPPER.readTree("{\"type\": \"ByteLevel\"}"), "t.json"));
        JsonNode other = Json.MAPPER.readTree(split.toString().replace("\\\\p{N}{1,3}", "\\\\p{N}{1,2}"));
        UserInputException e = assertThrows(UserInputException.class, () -> PreTokenizer.of(other, "t.json"));
        assertTrue(e.getMessage().startsWith("t.json: pre_tokenizer not supported: Split pattern"), e.getMessage());
    }
}
