package org.align4j.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * tokenizer_config.json as Hugging Face writes it for SmolLM2, Qwen2.5 and Llama 3.2: special
 * tokens as strings or AddedToken objects, named chat templates, and Llama 3's BOS coming from the
 * tokenizer.json post-processor rather than add_bos_token.
 */
class TokenizerConfigTest {

    @TempDir
    Path tmp;

    private static final String LLAMA3_POST = """
            {"post_processor": {"type": "Sequence", "processors": [
              {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
              {"type": "TemplateProcessing",
               "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                          {"Sequence": {"id": "A", "type_id": 0}}],
               "pair": [], "special_tokens": {}}]}}""";

    @Test
    void tokensTemplatesAndTheBosOfAPostProcessor() throws Exception {
        Files.writeString(tmp.resolve("tokenizer_config.json"), """
                {"bos_token": {"content": "<|im_start|>", "lstrip": false}, "eos_token": "<|im_end|>",
                 "pad_token": {"content": "<|im_end|>"},
                 "chat_template": [{"name": "tool_use", "template": "x"}, {"name": "default", "template": "y"}]}""");
        TokenizerConfig c = TokenizerConfig.read(tmp);
        assertEquals("<|im_start|>", c.bosToken());
        assertEquals("<|im_end|>", c.eosToken());
        assertEquals("<|im_end|>", c.padToken());
        assertEquals("y", c.chatTemplate(), "the default of a list of named templates");
        assertFalse(c.addBosToken(), "no add_bos_token and no post-processor: no BOS");

        Files.writeString(tmp.resolve("tokenizer.json"), LLAMA3_POST);
        Files.writeString(tmp.resolve("tokenizer_config.json"), """
                {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>", "chat_template": "z"}""");
        c = TokenizerConfig.read(tmp);
        assertTrue(c.addBosToken(), "Llama 3: BOS from TemplateProcessing");
        assertEquals("<|begin_of_text|>", c.bosToken());

        Files.writeString(tmp.resolve("tokenizer_config.json"), """
                {"bos_token": "<|begin_of_text|>", "add_bos_token": false}""");
        assertFalse(TokenizerConfig.read(tmp).addBosToken(), "an explicit add_bos_token wins");

        Files.delete(tmp.resolve("tokenizer_config.json"));
        Files.writeString(tmp.resolve("chat_template.jinja"), "{{ messages }}");
        c = TokenizerConfig.read(tmp);
        assertTrue(c.addBosToken());
        assertEquals("{{ messages }}", c.chatTemplate());
        assertNull(c.eosToken());
    }
}
