package org.align4j.data.format;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each prompt keeps its whole record, so a grader's {{item.FIELD}} reads the fields beside it, whatever the file's kind. */
class PromptSourceTest {

    @TempDir
    Path tmp;

    @Test
    void promptOnlyCompletionAndPreferenceRecordsKeepTheirFields() throws Exception {
        Path prompts = tmp.resolve("prompts.jsonl");
        Files.writeString(prompts, """
                {"prompt": "2+3?", "answer": "5"}
                {"messages": [{"role": "user", "content": "4+4?"}], "answer": "8"}
                """);
        List<PromptSource.Prompt> p = PromptSource.readItems(prompts);
        assertEquals(new Content.Text("2+3?"), p.get(0).content());
        assertEquals("5", p.get(0).item().get("answer").asText());
        assertEquals("8", p.get(1).item().get("answer").asText());
        assertEquals(1, ((Content.Messages) p.get(1).content()).messages().size());

        Path sft = tmp.resolve("sft.jsonl");
        Files.writeString(sft, """
                {"prompt": "2+3?", "completion": " 5"}

                {"prompt": "1+1?", "completion": " 2"}
                """);
        p = PromptSource.readItems(sft);
        assertEquals(2, p.size());
        assertEquals(new Content.Text("1+1?"), p.get(1).content());
        // an SFT file's completion is a reference answer a grader can read: the record of its own line
        assertEquals(" 2", p.get(1).item().get("completion").asText(), "its own line, past a blank one");
        assertEquals(3, p.get(1).line());

        Path pairs = tmp.resolve("pairs.jsonl");
        Files.writeString(pairs, "{\"prompt\": \"hi\", \"chosen\": \" a\", \"rejected\": \" b\"}\n");
        p = PromptSource.readItems(pairs);
        assertEquals(" a", p.get(0).item().get("chosen").asText());
        assertEquals(List.of(new Content.Text("hi")), PromptSource.read(pairs));
    }
}
