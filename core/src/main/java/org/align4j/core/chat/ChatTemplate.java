package org.align4j.core.chat;

import org.align4j.core.util.UserInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.tokenizer.BpeTokenizer;
import org.align4j.core.tokenizer.TokenizerConfig;
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
 * trained on (the model learns to stop); its start marker is not.
 *
 * <p>A model directory may carry its own template in {@code align4j_chat_template.json}; else the
 * Jinja template of its {@code tokenizer_config.json} is recognised when it is one of the
 * families align4j renders exactly ({@link #fromJinja}): ChatML with or without a default system
 * prompt (Qwen2, Qwen2.5, SmolLM2) and Llama 3's headers (with Llama 3.1/3.2's dated system
 * preamble). Any other template is refused when a conversation is rendered, never approximated.
 *
 * @param begin          text before the first message (Llama 3's {@code <|begin_of_text|>}), not trained
 * @param defaultSystem  the system message when a conversation has none, or null
 * @param systemPreamble text that starts every system message, one being added when absent, or null
 * @param trimContent    whether message content is stripped of surrounding whitespace (Llama 3's {@code | trim})
 * @param unsupported    why the model's template cannot be rendered, or null
 */
public record ChatTemplate(Map<String, Marker> roles, String generationPrompt, String begin, String defaultSystem,
                           String systemPreamble, boolean trimContent, String unsupported) {

    public static final String FILE = "align4j_chat_template.json";

    private static final Pattern CHATML_DEFAULT_SYSTEM =
            Pattern.compile("<\\|im_start\\|>system(?:\\\\n|\\n)([^'\"{}]*?)<\\|im_end\\|>");
    private static final Pattern LLAMA_DATE = Pattern.compile("set date_string = \"([^\"]+)\"");

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
        begin = begin == null ? "" : begin;
    }

    /** Markers around each role and a generation prompt; nothing else. */
    public ChatTemplate(Map<String, Marker> roles, String generationPrompt) {
        this(roles, generationPrompt, "", null, null, false, null);
    }

    public static ChatTemplate chatMl() {
        return chatMl(null);
    }

    private static ChatTemplate chatMl(String defaultSystem) {
        Map<String, Marker> roles = new LinkedHashMap<>();
        for (String r : List.of("system", "user", "assistant")) {
            roles.put(r, new Marker("<|im_start|>" + r + "\n", "<|im_end|>\n"));
        }
        return new ChatTemplate(roles, "<|im_start|>assistant\n", "", defaultSystem, null, false, null);
    }

    /**
     * The template a Hugging Face Jinja chat template renders, when align4j knows it: ChatML
     * (its default system prompt read from the template's literal system turn), or Llama 3's
     * headers ({@code bos_token} first, content trimmed; with Llama 3.1/3.2's "Cutting Knowledge
     * Date" preamble, the template's own fallback {@code date_string}: Hugging Face substitutes
     * today's date where it can, which would make training data change by the day). Otherwise a
     * template that refuses to render, naming {@code source}.
     */
    public static ChatTemplate fromJinja(String jinja, String bosToken, String source) {
        if (jinja.contains("enable_thinking") || jinja.contains("<think>")) {
            return refused(source, "a reasoning template (<think>)");
        }
        if (jinja.contains("<|im_start|>") && jinja.contains("<|im_end|>")) {
            Matcher m = CHATML_DEFAULT_SYSTEM.matcher(jinja);
            return chatMl(m.find() ? m.group(1).replace("\\n", "\n") : null);
        }
        if (jinja.contains("<|start_header_id|>") && jinja.contains("<|eot_id|>")) {
            Map<String, Marker> roles = new LinkedHashMap<>();
            for (String r : List.of("system", "user", "assistant")) {
                roles.put(r, new Marker("<|start_header_id|>" + r + "<|end_header_id|>\n\n", "<|eot_id|>"));
            }
            String preamble = null;
            if (jinja.contains("Cutting Knowledge Date")) {
                Matcher d = LLAMA_DATE.matcher(jinja);
                if (!d.find()) {
                    return refused(source, "a Llama 3 template whose date_string has no fallback");
                }
                preamble = "Cutting Knowledge Date: December 2023\nToday Date: " + d.group(1) + "\n\n";
            }
            return new ChatTemplate(roles, "<|start_header_id|>assistant<|end_header_id|>\n\n",
                    jinja.contains("bos_token") && bosToken != null ? bosToken : "", null, preamble, true, null);
        }
        return refused(source, "not one align4j renders");
    }

    private static ChatTemplate refused(String source, String what) {
        ChatTemplate ml = chatMl();
        return new ChatTemplate(ml.roles(), ml.generationPrompt(), "", null, null, false, source
                + ": its chat_template is " + what + "; align4j renders ChatML (Qwen2, Qwen2.5, SmolLM2) and Llama 3's"
                + " headers exactly and refuses others rather than render them wrong. Describe the template in "
                + FILE + " (roles' prefix and suffix, generation_prompt) or train on prompt/completion records.");
    }

    /**
     * The model directory's template: its {@value #FILE}; else its tokenizer_config.json's (or
     * chat_template.jinja's) template when recognised; else ChatML.
     */
    public static ChatTemplate forModel(Path modelDir) throws IOException {
        Path f = modelDir.resolve(FILE);
        if (!Files.isRegularFile(f)) {
            TokenizerConfig tc = Files.isDirectory(modelDir) ? TokenizerConfig.read(modelDir) : TokenizerConfig.NONE;
            return tc.chatTemplate() == null ? chatMl()
                    : fromJinja(tc.chatTemplate(), tc.bosToken(), modelDir.resolve(TokenizerConfig.FILE).toString());
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
        return new ChatTemplate(roles, root.path("generation_prompt").asText(""), root.path("begin").asText(""),
                root.path("default_system").asText(null), null, root.path("trim_content").asBoolean(false), null);
    }

    public void save(Path modelDir) throws IOException {
        ObjectMapper om = new ObjectMapper();
        ObjectNode root = om.createObjectNode();
        ObjectNode rs = root.putObject("roles");
        roles.forEach((r, m) -> rs.putObject(r).put("prefix", m.prefix()).put("suffix", m.suffix()));
        root.put("generation_prompt", generationPrompt);
        AtomicFiles.writeString(modelDir.resolve(FILE), om.writerWithDefaultPrettyPrinter().writeValueAsString(root));
    }

    /** Refuses a template align4j cannot render exactly. */
    private void requireSupported() {
        if (unsupported != null) {
            throw new UserInputException(unsupported);
        }
    }

    /** A message's content as the template writes it (stripped where the template trims). */
    public String content(ChatMessage m) {
        return trimContent ? m.content().strip() : m.content();
    }

    /** The messages as the template renders them: content trimmed, a default or preamble system turn in place. */
    private List<ChatMessage> effective(List<ChatMessage> messages) {
        List<ChatMessage> out = new ArrayList<>();
        for (ChatMessage m : messages) {
            out.add(new ChatMessage(m.role(), content(m)));
        }
        boolean hasSystem = !out.isEmpty() && out.get(0).role().equals("system");
        if (systemPreamble != null) {
            String given = hasSystem ? out.remove(0).content() : "";
            out.add(0, new ChatMessage("system", systemPreamble + given));
        } else if (defaultSystem != null && !hasSystem) {
            out.add(0, new ChatMessage("system", defaultSystem));
        }
        return out;
    }

    /** The conversation as text (what {@link #render} tokenizes, segment by segment). */
    public String renderText(List<ChatMessage> messages, boolean addGenerationPrompt) {
        requireSupported();
        StringBuilder sb = new StringBuilder(begin);
        for (ChatMessage m : effective(messages)) {
            Marker k = roles.get(m.role());
            sb.append(k.prefix()).append(m.content()).append(k.suffix());
        }
        if (addGenerationPrompt) {
            sb.append(generationPrompt);
        }
        return sb.toString();
    }

    public Rendered render(List<ChatMessage> messages, BpeTokenizer tok, boolean addGenerationPrompt) {
        requireSupported();
        List<int[]> parts = new ArrayList<>();
        List<Boolean> flags = new ArrayList<>();
        parts.add(tok.encode(begin, true));
        flags.add(false);
        for (ChatMessage m : effective(messages)) {
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
            Arrays.fill(mask, at, at + p.length, flags.get(i));
            at += p.length;
        }
        return new Rendered(ids, mask);
    }
}
