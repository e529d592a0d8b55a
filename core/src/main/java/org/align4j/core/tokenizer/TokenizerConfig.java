package org.align4j.core.tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.util.Json;

/**
 * What Hugging Face's {@code tokenizer_config.json} says beyond the vocabulary: the special
 * tokens' strings ({@code bos_token}, {@code eos_token}, {@code pad_token}, each a string or an
 * AddedToken object), {@code add_bos_token}, and the chat template (a string, a list of named
 * templates of which "default" is taken, or a {@code chat_template.jinja} file beside it). A
 * directory without the file has none of these. Where {@code add_bos_token} is not set, the
 * {@code tokenizer.json} post-processor decides, as Hugging Face's tokenizer does: a
 * {@code TemplateProcessing} whose single-sequence template starts with a special token (Llama 3's
 * {@code <|begin_of_text|>}) adds that token first.
 */
public record TokenizerConfig(String bosToken, String eosToken, String padToken, boolean addBosToken,
                              String chatTemplate) {

    public static final String FILE = "tokenizer_config.json";
    public static final String TEMPLATE_FILE = "chat_template.jinja";

    public static final TokenizerConfig NONE = new TokenizerConfig(null, null, null, false, null);

    public static TokenizerConfig read(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        Path jinja = dir.resolve(TEMPLATE_FILE);
        String fileTemplate = Files.isRegularFile(jinja) ? Files.readString(jinja) : null;
        if (!Files.isRegularFile(file)) {
            String first = templateBos(dir.resolve(TokenizerFiles.TOKENIZER_JSON));
            return new TokenizerConfig(first, null, null, first != null, fileTemplate);
        }
        JsonNode c = Json.readObjectFile(file);
        String template = fileTemplate;
        JsonNode t = c.path("chat_template");
        if (t.isTextual()) {
            template = t.asText();
        } else if (t.isArray()) {
            for (JsonNode named : t) {
                if (named.path("name").asText().equals("default")) {
                    template = named.path("template").asText(null);
                }
            }
        }
        String bos = token(c.path("bos_token"));
        boolean addBos = c.path("add_bos_token").asBoolean(false);
        if (!c.has("add_bos_token")) {
            String first = templateBos(dir.resolve(TokenizerFiles.TOKENIZER_JSON));
            if (first != null) {
                bos = first;
                addBos = true;
            }
        }
        return new TokenizerConfig(bos, token(c.path("eos_token")), token(c.path("pad_token")), addBos, template);
    }

    /** The special token a {@code TemplateProcessing} post-processor puts before a single sequence, or null. */
    static String templateBos(Path tokenizerJson) throws IOException {
        if (!Files.isRegularFile(tokenizerJson)) {
            return null;
        }
        JsonNode post = Json.MAPPER.readTree(tokenizerJson.toFile()).path("post_processor");
        List<JsonNode> processors = new ArrayList<>();
        if ("Sequence".equals(post.path("type").asText())) {
            post.path("processors").forEach(processors::add);
        } else {
            processors.add(post);
        }
        for (JsonNode p : processors) {
            if ("TemplateProcessing".equals(p.path("type").asText())) {
                JsonNode first = p.path("single").path(0).path("SpecialToken").path("id");
                return first.isTextual() ? first.asText() : null;
            }
        }
        return null;
    }

    private static String token(JsonNode n) {
        if (n.isTextual()) {
            return n.asText();
        }
        return n.path("content").isTextual() ? n.path("content").asText() : null;
    }

    /** The id of {@code bos_token} in {@code tokenizer}, when both exist. */
    public OptionalInt bosId(BpeTokenizer tokenizer) {
        return bosToken == null ? OptionalInt.empty() : tokenizer.specialId(bosToken);
    }

    /** The id of {@code eos_token} in {@code tokenizer}, when both exist. */
    public OptionalInt eosId(BpeTokenizer tokenizer) {
        return eosToken == null ? OptionalInt.empty() : tokenizer.specialId(eosToken);
    }
}
