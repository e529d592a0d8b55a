package org.align4j.core.tokenizer;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.util.AtomicFiles;
import org.align4j.core.util.UserInputException;

/**
 * Reads and writes tokenizers in Hugging Face's {@code tokenizer.json} and in GPT-2's
 * {@code vocab.json} + {@code merges.txt} (OpenAI's {@code encoder.json} + {@code vocab.bpe}
 * hold the same content). A directory may hold either; {@code tokenizer.json} wins.
 */
public final class TokenizerFiles {

    public static final String TOKENIZER_JSON = "tokenizer.json";
    public static final String VOCAB_JSON = "vocab.json";
    public static final String MERGES_TXT = "merges.txt";
    private static final ObjectMapper JSON = new ObjectMapper();

    private TokenizerFiles() {
    }

    /** True if {@code path} is, or is a directory holding, a tokenizer we can read. */
    public static boolean exists(Path path) {
        if (Files.isRegularFile(path)) {
            return true;
        }
        return Files.isRegularFile(path.resolve(TOKENIZER_JSON))
                || (Files.isRegularFile(path.resolve(VOCAB_JSON)) && Files.isRegularFile(path.resolve(MERGES_TXT)));
    }

    /** Loads from a {@code tokenizer.json} file or a directory. */
    public static BpeTokenizer load(Path path) throws IOException {
        if (Files.isRegularFile(path)) {
            return readTokenizerJson(path);
        }
        if (!Files.isDirectory(path)) {
            throw new IOException(path + ": no such tokenizer file or directory");
        }
        if (Files.isRegularFile(path.resolve(TOKENIZER_JSON))) {
            return readTokenizerJson(path.resolve(TOKENIZER_JSON));
        }
        if (Files.isRegularFile(path.resolve(VOCAB_JSON)) && Files.isRegularFile(path.resolve(MERGES_TXT))) {
            return readVocabAndMerges(path.resolve(VOCAB_JSON), path.resolve(MERGES_TXT));
        }
        throw new IOException(path + ": no tokenizer.json, nor vocab.json with merges.txt");
    }

    /**
     * Refuses two models whose tokenizers differ (their {@link BpeTokenizer#fingerprint}s), naming
     * both as {@code whatA A} and {@code whatB B} (an option and its directory): token ids of one
     * are other text to the other, so a reference, value or reward model would score or train on
     * garbage, or fail deep inside with an id outside its vocabulary. A directory with no
     * tokenizer files cannot be checked, and is refused too.
     */
    public static void requireSameTokenizer(String whatA, Path a, String whatB, Path b) throws IOException {
        if (a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize())) {
            return;
        }
        String fa = fingerprintOf(whatA, a);
        String fb = fingerprintOf(whatB, b);
        if (!fa.equals(fb)) {
            throw new UserInputException(whatB + " " + b + " has another tokenizer than " + whatA + " " + a
                    + " (vocabulary, merges or special tokens differ; fingerprints " + fb.substring(0, 12) + " and "
                    + fa.substring(0, 12) + "): models used together must share one tokenizer");
        }
    }

    private static String fingerprintOf(String what, Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new UserInputException(what + " " + dir + ": not a model directory");
        }
        if (!exists(dir)) {
            throw new UserInputException(what + " " + dir + ": no tokenizer files (tokenizer.json, or vocab.json +"
                    + " merges.txt), so its tokenizer cannot be checked against the other model's");
        }
        return load(dir).fingerprint();
    }

    public static BpeTokenizer readTokenizerJson(Path file) throws IOException {
        JsonNode root = readJson(file);
        JsonNode model = root.path("model");
        if (!model.isObject()) {
            throw new IOException(file + ": field 'model' missing or not an object");
        }
        String type = model.path("type").asText("BPE");
        if (!type.equals("BPE")) {
            throw new IOException(file + ": field 'model.type' is '" + type + "'; only byte-level BPE is supported");
        }
        JsonNode pre = root.path("pre_tokenizer");
        PreTokenizer preTokenizer = PreTokenizer.of(pre, file.toString());
        if (pre.path("add_prefix_space").asBoolean(false)) {
            throw new IOException(file + ": field 'pre_tokenizer.add_prefix_space' = true is not supported");
        }
        Map<String, Integer> vocab = vocabFrom(file, model.path("vocab"), "model.vocab");
        List<BpeTokenizer.Merge> merges = new ArrayList<>();
        JsonNode mergesNode = model.path("merges");
        if (!mergesNode.isArray()) {
            throw new IOException(file + ": field 'model.merges' missing or not an array");
        }
        int i = 0;
        for (JsonNode m : mergesNode) {
            i++;
            if (m.isTextual()) {
                merges.add(parseMerge(m.asText(), file + ": model.merges[" + (i - 1) + "]"));
            } else if (m.isArray() && m.size() == 2) {
                merges.add(new BpeTokenizer.Merge(m.get(0).asText(), m.get(1).asText()));
            } else {
                throw new IOException(file + ": model.merges[" + (i - 1) + "] must be \"a b\" or [a, b]");
            }
        }
        Map<String, Integer> specials = new LinkedHashMap<>();
        for (JsonNode t : root.path("added_tokens")) {
            if (!t.has("id") || !t.has("content")) {
                throw new IOException(file + ": every entry of 'added_tokens' needs 'id' and 'content'");
            }
            specials.put(t.get("content").asText(), t.get("id").asInt());
            vocab.remove(t.get("content").asText());
        }
        return build(file, vocab, merges, specials, preTokenizer, model.path("ignore_merges").asBoolean(false));
    }

    public static BpeTokenizer readVocabAndMerges(Path vocabFile, Path mergesFile) throws IOException {
        Map<String, Integer> vocab = vocabFrom(vocabFile, readJson(vocabFile), "(top level)");
        List<BpeTokenizer.Merge> merges = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(mergesFile, StandardCharsets.UTF_8)) {
            String line;
            int lineNo = 0;
            while ((line = r.readLine()) != null) {
                lineNo++;
                if (line.isBlank() || (lineNo == 1 && line.startsWith("#version"))) {
                    continue;
                }
                merges.add(parseMerge(line, mergesFile + ":" + lineNo));
            }
        }
        // GPT-2's vocab.json lists <|endoftext|> among ordinary entries; it is not byte-level, so it is special
        Map<String, Integer> specials = new LinkedHashMap<>();
        Iterator<Map.Entry<String, Integer>> it = vocab.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<String, Integer> e = it.next();
            if (ByteLevel.decode(e.getKey()) == null || (e.getKey().startsWith("<|") && e.getKey().endsWith("|>"))) {
                specials.put(e.getKey(), e.getValue());
                it.remove();
            }
        }
        return build(vocabFile, vocab, merges, specials, PreTokenizer.GPT2, false);
    }

    private static BpeTokenizer build(Path file, Map<String, Integer> vocab, List<BpeTokenizer.Merge> merges,
                                      Map<String, Integer> specials, PreTokenizer pre, boolean ignoreMerges)
            throws IOException {
        try {
            return new BpeTokenizer(vocab, merges, specials, pre, ignoreMerges);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    private static BpeTokenizer.Merge parseMerge(String line, String where) throws IOException {
        int sp = line.indexOf(' ');
        if (sp <= 0 || sp == line.length() - 1 || line.indexOf(' ', sp + 1) >= 0) {
            throw new IOException(where + ": a merge is two tokens separated by one space, got '" + line + "'");
        }
        return new BpeTokenizer.Merge(line.substring(0, sp), line.substring(sp + 1));
    }

    private static Map<String, Integer> vocabFrom(Path file, JsonNode node, String field) throws IOException {
        if (!node.isObject()) {
            throw new IOException(file + ": field '" + field + "' must be an object of token to id");
        }
        Map<String, Integer> vocab = new LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> it = node.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().canConvertToInt() || e.getValue().asInt() < 0) {
                throw new IOException(file + ": " + field + "['" + e.getKey() + "'] must be a non-negative integer id");
            }
            vocab.put(e.getKey(), e.getValue().asInt());
        }
        return vocab;
    }

    private static JsonNode readJson(Path file) throws IOException {
        try {
            return JSON.readTree(file.toFile());
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new IOException(file + ": not valid JSON (line " + e.getLocation().getLineNr() + "): "
                    + e.getOriginalMessage(), e);
        }
    }

    /** Writes {@code tokenizer.json}, {@code vocab.json} and {@code merges.txt} into {@code dir}. */
    public static void save(BpeTokenizer tok, Path dir) throws IOException {
        Files.createDirectories(dir);
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        new TreeMap<>(invert(tok.specialTokens())).forEach((id, content) -> {
            ObjectNode t = added.addObject();
            t.put("id", id);
            t.put("content", content);
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", false);
            t.put("normalized", false);
            t.put("special", true);
        });
        root.putNull("normalizer");
        root.set("pre_tokenizer", byteLevel(false));
        root.set("post_processor", byteLevel(true));
        root.set("decoder", byteLevel(true));
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.put("continuing_subword_prefix", "");
        model.put("end_of_word_suffix", "");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        ObjectNode vocab = model.putObject("vocab");
        new TreeMap<>(invert(tok.vocab())).forEach((id, s) -> vocab.put(s, id));
        ArrayNode merges = model.putArray("merges");
        for (BpeTokenizer.Merge m : tok.merges()) {
            merges.add(m.left() + " " + m.right());
        }
        AtomicFiles.writeString(dir.resolve(TOKENIZER_JSON), JSON.writeValueAsString(root));

        ObjectNode vj = JSON.createObjectNode();
        Map<Integer, String> all = new TreeMap<>(invert(tok.vocab()));
        all.putAll(invert(tok.specialTokens()));
        all.forEach((id, s) -> vj.put(s, id));
        AtomicFiles.writeString(dir.resolve(VOCAB_JSON), JSON.writeValueAsString(vj));
        StringBuilder sb = new StringBuilder("#version: 0.2\n");
        for (BpeTokenizer.Merge m : tok.merges()) {
            sb.append(m.left()).append(' ').append(m.right()).append('\n');
        }
        AtomicFiles.writeString(dir.resolve(MERGES_TXT), sb.toString());
    }

    private static ObjectNode byteLevel(boolean prefixSpaceFlag) {
        ObjectNode n = JSON.createObjectNode();
        n.put("type", "ByteLevel");
        n.put("add_prefix_space", false);
        n.put("trim_offsets", prefixSpaceFlag);
        n.put("use_regex", true);
        return n;
    }

    private static Map<Integer, String> invert(Map<String, Integer> m) {
        Map<Integer, String> out = new LinkedHashMap<>();
        m.forEach((k, v) -> out.put(v, k));
        return out;
    }
}
