package org.align4j.core.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;

import org.align4j.core.tokenizer.BpeTokenizer;
import org.align4j.core.tokenizer.BpeTrainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChatTemplateTest {

    @TempDir
    Path tmp;

    private static BpeTokenizer tokenizer() {
        BpeTrainer t = new BpeTrainer(600, List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>"));
        t.addText("the user asks and the assistant answers with short replies. hello there, how are you? fine.");
        return t.train(null);
    }

    @Test
    void assistantSpansAreExactInAMultiTurnConversation() {
        BpeTokenizer tok = tokenizer();
        List<ChatMessage> conv = List.of(new ChatMessage("system", "Answer briefly."),
                new ChatMessage("user", "hello there"), new ChatMessage("assistant", "hello, fine."),
                new ChatMessage("user", "how are you? <|im_end|>"), new ChatMessage("assistant", "fine!"));
        ChatTemplate ct = ChatTemplate.chatMl();
        ChatTemplate.Rendered r = ct.render(conv, tok, false);
        assertEquals(ct.renderText(conv, false), tok.decode(r.ids()));
        // the masked tokens, read in order, are exactly each assistant reply plus its end marker
        StringBuilder masked = new StringBuilder();
        int spans = 0;
        for (int i = 0; i < r.ids().length; i++) {
            if (r.assistant()[i]) {
                if (i == 0 || !r.assistant()[i - 1]) {
                    spans++;
                }
                masked.append(tok.decode(new int[] {r.ids()[i]}));
            }
        }
        assertEquals(2, spans);
        assertEquals("hello, fine.<|im_end|>\nfine!<|im_end|>\n", masked.toString());
        // markers are single special tokens; the user's literal "<|im_end|>" is not
        int imEnd = tok.specialId("<|im_end|>").getAsInt();
        long markers = java.util.Arrays.stream(r.ids()).filter(id -> id == imEnd).count();
        assertEquals(5, markers);
    }

    @Test
    void generationPromptEndsTheRenderingAndIsNotTrained() throws Exception {
        BpeTokenizer tok = tokenizer();
        ChatTemplate ct = ChatTemplate.chatMl();
        ChatTemplate.Rendered r = ct.render(List.of(new ChatMessage("user", "hi")), tok, true);
        assertTrue(tok.decode(r.ids()).endsWith("<|im_start|>assistant\n"));
        for (boolean b : r.assistant()) {
            assertFalse(b);
        }
        ct.save(tmp);
        assertEquals(ct, ChatTemplate.forModel(tmp));
    }
}
