package org.align4j.core.chat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.tokenizer.BpeTokenizer;
import org.align4j.core.tokenizer.BpeTrainer;
import org.align4j.core.util.Json;
import org.align4j.core.util.UserInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The chat templates of SmolLM2, Qwen2.5, Llama 3 and Llama 3.2, as published in their
 * tokenizer_config.json, against jinja2's rendering of the same strings
 * (tools/reference/chat_templates.py, Hugging Face's environment settings).
 */
class HfChatTemplateTest {

    private static final Path FIXTURE = Path.of("src/test/resources/fixtures/chat-templates/templates.json");

    @TempDir
    Path tmp;

    private static BpeTokenizer tokenizer() {
        BpeTrainer t = new BpeTrainer(700, List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|begin_of_text|>",
                "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"));
        t.addText("You are a helpful AI assistant. Answer in one word. Sky colour? Blue. And grass? Green. Hi there"
                + " Hello! How can I help? Write 12 + 30 = ? Cutting Knowledge Date: December 2023 Today Date:");
        return t.train(null);
    }

    private static List<ChatMessage> messages(JsonNode conv) {
        List<ChatMessage> out = new ArrayList<>();
        conv.forEach(m -> out.add(new ChatMessage(m.get("role").asText(), m.get("content").asText())));
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"smollm2", "qwen2.5", "llama3", "llama3.2"})
    void rendersAsJinjaDoesWithExactAssistantSpans(String family) throws Exception {
        JsonNode f = Json.MAPPER.readTree(FIXTURE.toFile()).get(family);
        ChatTemplate t = ChatTemplate.fromJinja(f.get("chat_template").asText(), f.path("bos_token").asText(null),
                family);
        BpeTokenizer tok = tokenizer();
        for (JsonNode c : f.get("cases")) {
            List<ChatMessage> conv = messages(c.get("messages"));
            boolean gen = c.get("add_generation_prompt").asBoolean();
            String want = c.get("text").asText();
            assertEquals(want, t.renderText(conv, gen), family);
            ChatTemplate.Rendered r = t.render(conv, tok, gen);
            // segment by segment, as one string would be tokenized: no merge crosses a segment boundary
            assertArrayEquals(tok.encode(want, true), r.ids(), family);
            StringBuilder trained = new StringBuilder();
            for (int i = 0; i < r.ids().length; i++) {
                if (r.assistant()[i]) {
                    trained.append(tok.decode(new int[] {r.ids()[i]}));
                }
            }
            StringBuilder replies = new StringBuilder();
            String end = family.startsWith("llama") ? "<|eot_id|>" : "<|im_end|>\n";
            for (ChatMessage m : conv) {
                if (m.role().equals("assistant")) {
                    replies.append(family.startsWith("llama") ? m.content().strip() : m.content()).append(end);
                }
            }
            assertEquals(replies.toString(), trained.toString(), family);
        }
    }

    @Test
    void defaultSystemPromptsAndPreambleComeFromTheTemplate() throws Exception {
        JsonNode all = Json.MAPPER.readTree(FIXTURE.toFile());
        assertEquals("You are a helpful AI assistant named SmolLM, trained by Hugging Face",
                ChatTemplate.fromJinja(all.get("smollm2").get("chat_template").asText(), null, "s").defaultSystem());
        assertEquals("You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
                ChatTemplate.fromJinja(all.get("qwen2.5").get("chat_template").asText(), null, "q").defaultSystem());
        assertEquals("Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n",
                ChatTemplate.fromJinja(all.get("llama3.2").get("chat_template").asText(), "<|begin_of_text|>", "l")
                        .systemPreamble());
    }

    @Test
    void anUnknownTemplateIsRefusedNamingItsFileAndALoadedOneIsRead() throws Exception {
        JsonNode all = Json.MAPPER.readTree(FIXTURE.toFile());
        Path dir = tmp.resolve("m");
        Files.createDirectories(dir);
        Json.MAPPER.writeValue(dir.resolve("tokenizer_config.json").toFile(), Json.MAPPER.createObjectNode()
                .put("chat_template", all.get("llama2").get("chat_template").asText()).put("bos_token", "<s>"));
        ChatTemplate t = ChatTemplate.forModel(dir);
        UserInputException e = assertThrows(UserInputException.class,
                () -> t.renderText(List.of(new ChatMessage("user", "hi")), true));
        assertTrue(e.getMessage().contains(dir.resolve("tokenizer_config.json").toString()), e.getMessage());
        assertTrue(e.getMessage().contains("refuses"), e.getMessage());

        Json.MAPPER.writeValue(dir.resolve("tokenizer_config.json").toFile(), Json.MAPPER.createObjectNode()
                .put("chat_template", all.get("llama3").get("chat_template").asText())
                .put("bos_token", "<|begin_of_text|>"));
        assertEquals(all.get("llama3").get("cases").get(0).get("text").asText(),
                ChatTemplate.forModel(dir).renderText(messages(all.get("llama3").get("cases").get(0).get("messages")),
                        false));
    }
}
