package org.align4j.data.format;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.chat.ChatMessage;
import org.align4j.core.util.UserInputException;
import org.align4j.data.jsonl.JsonlReader;

/**
 * The prompts of a JSONL file: prompt-only records ({@code {"prompt": TEXT}} or
 * {@code {"messages": [...]}} ending with a user turn), or the prompts of any SFT, preference or
 * ranking file (a chat's messages before its last assistant reply). Each prompt keeps its whole
 * record, so a grader's {@code {{item.FIELD}}} reads the fields beside it (a reference answer).
 */
public final class PromptSource {

    /** One prompt, the record it came from and that record's line. */
    public record Prompt(Content content, JsonNode item, long line) {
    }

    private PromptSource() {
    }

    public static List<Content> read(Path file) throws IOException {
        return readItems(file).stream().map(Prompt::content).toList();
    }

    /**
     * Whether {@code file} holds prompt-only records (its first JSON line has no completion,
     * responses or text, and no chat ending with an assistant reply), as {@link #readItems} decides.
     */
    public static boolean promptOnly(Path file) throws IOException {
        try (JsonlReader in = new JsonlReader(file)) {
            JsonlReader.Line line;
            while ((line = in.next()) != null) {
                if (line.ok()) {
                    return !answered(line.json());
                }
            }
        }
        return false;
    }

    private static boolean answered(JsonNode j) {
        return j.has("completion") || j.has("chosen") || j.has("preferred_output") || j.has("responses") || j.has("text")
                || (j.has("messages") && lastRole(j).equals("assistant"));
    }

    /** The prompts with their records. */
    public static List<Prompt> readItems(Path file) throws IOException {
        List<Prompt> out = new ArrayList<>();
        boolean promptOnly = true;
        try (JsonlReader in = new JsonlReader(file)) {
            JsonlReader.Line line;
            while ((line = in.next()) != null) {
                if (!line.ok()) {
                    throw new UserInputException(file + ":" + line.number() + ": not JSON: " + line.error());
                }
                JsonNode j = line.json();
                if (answered(j)) {
                    promptOnly = false;
                    break;
                }
                if (j.path("prompt").isTextual() && !j.get("prompt").asText().isEmpty()) {
                    out.add(new Prompt(new Content.Text(j.get("prompt").asText()), j, line.number()));
                } else if (j.path("messages").isArray() && j.get("messages").size() > 0) {
                    List<ChatMessage> msgs = new ArrayList<>();
                    for (JsonNode m : j.get("messages")) {
                        try {
                            msgs.add(new ChatMessage(m.path("role").asText(null), m.path("content").asText(null), null));
                        } catch (IllegalArgumentException e) {
                            throw new UserInputException(file + ":" + line.number() + ": field 'messages': "
                                    + e.getMessage());
                        }
                    }
                    out.add(new Prompt(new Content.Messages(msgs), j, line.number()));
                } else {
                    throw new UserInputException(file + ":" + line.number() + ": needs a non-empty 'prompt' or"
                            + " 'messages' (or use an SFT or preference file)");
                }
            }
        }
        if (promptOnly) {
            if (out.isEmpty()) {
                throw new UserInputException(file + ": no prompts");
            }
            return out;
        }
        out.clear();
        Dataset d = Dataset.read(file, null, false);
        Map<Long, JsonNode> raw = new HashMap<>();
        try (JsonlReader in = new JsonlReader(file)) {
            JsonlReader.Line line;
            while ((line = in.next()) != null) {
                if (line.ok()) {
                    raw.put(line.number(), line.json());
                }
            }
        }
        for (int i = 0; i < d.records().size(); i++) {
            DataRecord r = d.records().get(i);
            long number = d.lines().get(i);
            JsonNode item = raw.get(number);
            if (r instanceof DataRecord.Completion c) {
                out.add(new Prompt(new Content.Text(c.prompt()), item, number));
            } else if (r instanceof DataRecord.Preference p) {
                out.add(new Prompt(p.prompt(), item, number));
            } else if (r instanceof DataRecord.Ranking k) {
                out.add(new Prompt(new Content.Text(k.prompt()), item, number));
            } else if (r instanceof DataRecord.Chat c) {
                int last = c.messages().size() - 1;
                while (last >= 0 && !c.messages().get(last).role().equals("assistant")) {
                    last--;
                }
                out.add(new Prompt(new Content.Messages(c.messages().subList(0, Math.max(0, last))), item, number));
            } else {
                throw new UserInputException(file + ": text records hold no prompts; give prompts or an SFT or"
                        + " preference file");
            }
        }
        return out;
    }

    private static String lastRole(JsonNode j) {
        JsonNode m = j.get("messages");
        return m.isArray() && m.size() > 0 ? m.get(m.size() - 1).path("role").asText("") : "";
    }
}
