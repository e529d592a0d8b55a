package org.align4j.core.chat;

import org.align4j.core.util.UserInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.tokenizer.BpeTokenizer;
import org.align4j.core.util.AtomicFiles;

/**
 * Renders chat messages into tokens with role markers and marks which tokens are assistant
 * content, for assistant-only loss.
 *
 * <p>The default template is ChatML:
 * <pre>
 * &lt;|im_start|&gt;system
 * You are helpful.&lt;|im_end|&gt;
 * &lt;|im_start|&gt;user
 * Hi&lt;|im_end|&gt;
 * &lt;|im_start|&gt;assistant
 * Hello!&lt;|im_end|&gt;
 * </pre>
 * Markers are encoded with special tokens allowed (a tokenizer that has {@code <|im_start|>} and
 * {@code <|im_end|>} as special tokens gives one id each); message content is encoded with
 * special tokens disallowed, so a user cannot inject a marker. Each segment is encoded on its
 * own, so the assistant span is exact: an assistant message's content and its end marker are
 * trained on (the model learns to stop); its start marker is not. A model directory may carry
 * its own template in {@code align4j_chat_template.json}.
 */
public record ChatTemplate(Map<String, Marker> roles, String generationPrompt) {

    public static final String FILE = "align4j_chat_template.json";

    /** Text before and after a message of one role. */
    public record Marker(String prefix, String suffix) {
    }

    /** Tokens of a rendered conversation and, per token, whether it is assistant output. */
    public record Rendered(int[] ids, boolean[] assistant) {
    }

    public ChatTemplate {
        for (String r : ChatMessage.ROLES) {
            if (!roles.containsKey(r)) {
                throw new UserInputException("chat template lacks role '" + r + "'");
            }
        }
        roles = Map.copyOf(roles);
    }

    public static ChatTemplate chatMl() {
        Map<String, Marker> roles = new LinkedHashMap<>();
        for (String r : List.of("system", "user", "assistant")) {
            roles.put(r, new Marker("<|im_start|>" + r + "\n", "<|im_end|>\n"));
        }
        return new ChatTemplate(roles, "<|im_start|>assistant\n");
    }

    /** The model directory's template if it has one, else ChatML. */
    public static ChatTemplate forModel(Path modelDir) throws IOException {
        Path f = modelDir.resolve(FILE);
        if (!Files.isRegularFile(f)) {
            return chatMl();
        }
        JsonNode root = new ObjectMapper().readTree(f.toFile());
        Map<String, Marker> roles = new LinkedHashMap<>();
        for (String r : ChatMessage.ROLES) {
            JsonNode n = root.path("roles").path(r);
            if (!n.isObject()) {
                throw new IOException(f + ": field 'roles." + r + "' missing (needs prefix and suffix)");
            }
            roles.put(r, new Marker(n.path("prefix").asText(""), n.path("suffix").asText("")));
        }
        return new ChatTemplate(roles, root.path("generation_prompt").asText(""));
    }

    public void save(Path modelDir) throws IOException {
        ObjectMapper om = new ObjectMapper();
        ObjectNode root = om.createObjectNode();
        ObjectNode rs = root.putObject("roles");
        roles.forEach((r, m) -> rs.putObject(r).put("prefix", m.prefix()).put("suffix", m.suffix()));
        root.put("generation_prompt", generationPrompt);
        AtomicFiles.writeString(modelDir.resolve(FILE), om.writerWithDefaultPrettyPrinter().writeValueAsString(root));
    }

    /** The conversation as text (what {@link #render} tokenizes, segment by segment). */
    public String renderText(List<ChatMessage> messages, boolean addGenerationPrompt) {
        StringBuilder sb = new StringBuilder();
        for (ChatMessage m : messages) {
            Marker k = roles.get(m.role());
            sb.append(k.prefix()).append(m.content()).append(k.suffix());
        }
        if (addGenerationPrompt) {
            sb.append(generationPrompt);
        }
        return sb.toString();
    }

    public Rendered render(List<ChatMessage> messages, BpeTokenizer tok, boolean addGenerationPrompt) {
        List<int[]> parts = new ArrayList<>();
        List<Boolean> flags = new ArrayList<>();
        for (ChatMessage m : messages) {
            Marker k = roles.get(m.role());
            boolean assistant = m.role().equals("assistant");
            parts.add(tok.encode(k.prefix(), true));
            flags.add(false);
            parts.add(tok.encode(m.content(), false));
            flags.add(assistant);
            parts.add(tok.encode(k.suffix(), true));
            flags.add(assistant);
        }
        if (addGenerationPrompt) {
            parts.add(tok.encode(generationPrompt, true));
            flags.add(false);
        }
        int n = parts.stream().mapToInt(p -> p.length).sum();
        int[] ids = new int[n];
        boolean[] mask = new boolean[n];
        int at = 0;
        for (int i = 0; i < parts.size(); i++) {
            int[] p = parts.get(i);
            System.arraycopy(p, 0, ids, at, p.length);
            java.util.Arrays.fill(mask, at, at + p.length, flags.get(i));
            at += p.length;
        }
        return new Rendered(ids, mask);
    }
}
