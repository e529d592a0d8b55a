package org.align4j.data.batch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import org.align4j.core.chat.ChatMessage;
import org.align4j.core.tokenizer.BpeTokenizer;
import org.align4j.core.tokenizer.BpeTrainer;
import org.align4j.core.tokenizer.TokenizerFiles;
import org.align4j.data.format.DataRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Llama 3 model directory: plain text and prompts start with <|begin_of_text|> (the tokenizer's
 * post-processor adds it), completions end with tokenizer_config.json's eos_token, and a chat,
 * rendered by the model's own template, starts with exactly one <|begin_of_text|>.
 */
class BosEncodingTest {

    @TempDir
    Path tmp;

    @Test
    void bosOnceEosFromTheTokenizerConfig() throws Exception {
        BpeTrainer t = new BpeTrainer(400, List.of("<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>",
                "<|end_header_id|>", "<|eot_id|>"));
        t.addText("the cat sat on the mat and the dog ran");
        BpeTokenizer tok = t.train(null);
        TokenizerFiles.save(tok, tmp);
        Path json = tmp.resolve("tokenizer.json");
        Files.writeString(json, Files.readString(json).replaceFirst("\"post_processor\"\\s*:\\s*\\{[^}]*\\}",
                "\"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\":"
                        + " {\"id\": \"<|begin_of_text|>\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}],"
                        + " \"pair\": [], \"special_tokens\": {}}"));
        Files.writeString(tmp.resolve("tokenizer_config.json"), "{\"bos_token\": \"<|begin_of_text|>\", \"eos_token\":"
                + " \"<|eot_id|>\", \"chat_template\": \"{% for message in messages %}{% set content ="
                + " '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\\\n\\\\n'+ message['content'] | trim"
                + " + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
                + "{{ content }}{% endfor %}\"}");
        ExampleEncoder enc = ExampleEncoder.forModel(tmp, 0);
        int bos = tok.specialId("<|begin_of_text|>").getAsInt();
        int eot = tok.specialId("<|eot_id|>").getAsInt();
        assertEquals(eot, enc.eosTokenId());

        Example text = enc.encode(new DataRecord.Text("the cat sat"));
        int[] words = tok.encode("the cat sat");
        int[] want = new int[words.length + 2];
        want[0] = bos;
        System.arraycopy(words, 0, want, 1, words.length);
        want[want.length - 1] = eot;
        assertArrayEquals(want, text.ids());

        Example completion = enc.encode(new DataRecord.Completion("the dog", " ran"));
        assertEquals(bos, completion.ids()[0]);
        assertEquals(eot, completion.ids()[completion.length() - 1]);

        Example chat = enc.encode(new DataRecord.Chat(List.of(new ChatMessage("user", " the cat "),
                new ChatMessage("assistant", "sat"))));
        assertEquals(bos, chat.ids()[0]);
        assertEquals(1, Arrays.stream(chat.ids()).filter(id -> id == bos).count(), "one BOS, from the template");
        assertEquals("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nthe cat<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nsat<|eot_id|>", tok.decode(chat.ids()));
    }
}
