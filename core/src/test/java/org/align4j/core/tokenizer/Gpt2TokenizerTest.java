package org.align4j.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** GPT-2 tokenization against jtokkit's r50k_base, the oracle. */
class Gpt2TokenizerTest {

    private static final Encoding JTOKKIT = Encodings.newDefaultEncodingRegistry().getEncoding(EncodingType.R50K_BASE);

    @TempDir
    Path tmp;

    @Test
    void idsEqualJtokkitOnAMegabyteOfVariedText() throws Exception {
        BpeTokenizer tok = R50k.tokenizer();
        String corpus = TestCorpus.generate(1_100_000, 2026);
        assertTrue(corpus.getBytes(StandardCharsets.UTF_8).length > 1_000_000);
        // compare chunk by chunk so that a mismatch points at a small piece of text
        int chunk = 4000;
        long tokens = 0;
        for (int start = 0; start < corpus.length(); start += chunk) {
            int end = Math.min(corpus.length(), start + chunk);
            if (end < corpus.length() && Character.isHighSurrogate(corpus.charAt(end - 1))) {
                end++;
            }
            String piece = corpus.substring(start, end);
            int[] ours = tok.encode(piece);
            int[] theirs = JTOKKIT.encodeOrdinary(piece).toArray();
            assertArrayEquals(theirs, ours, () -> "mismatch in chunk at " + piece.length() + ": " + piece);
            assertEquals(piece, tok.decode(ours));
            tokens += ours.length;
            start = end - chunk;
        }
        assertTrue(tokens > 200_000);
    }

    @Test
    void specialTokensOnlyWhenAllowed() throws Exception {
        BpeTokenizer tok = R50k.tokenizer();
        String text = "Hello<|endoftext|> world";
        assertArrayEquals(JTOKKIT.encodeOrdinary(text).toArray(), tok.encode(text));
        int[] withSpecial = tok.encode(text, true);
        int[] hello = JTOKKIT.encodeOrdinary("Hello").toArray();
        int[] world = JTOKKIT.encodeOrdinary(" world").toArray();
        int[] expected = new int[hello.length + 1 + world.length];
        System.arraycopy(hello, 0, expected, 0, hello.length);
        expected[hello.length] = 50256;
        System.arraycopy(world, 0, expected, hello.length + 1, world.length);
        assertArrayEquals(expected, withSpecial);
        assertTrue(java.util.Arrays.stream(withSpecial).anyMatch(i -> i == 50256));
        assertEquals(text, tok.decode(withSpecial));
    }

    @Test
    void roundTripsHardStrings() throws Exception {
        BpeTokenizer tok = R50k.tokenizer();
        String[] cases = {"", " ", "   \t\n\r\n  ", "👨‍👩‍👧‍👦🏳️‍🌈", "日本語のテキスト", "e\u0301\u0302\u0303",
            "line1\r\nline2\r\n", "trailing   ", "\u0000\u0001\u007f", "a\u200db\u200c", "mixed 123,456.78 $%^&*"};
        for (String s : cases) {
            assertEquals(s, tok.decode(tok.encode(s)), "round trip of " + s);
        }
    }

    @Test
    void partialMultiByteTokensJoinUp() throws Exception {
        BpeTokenizer tok = R50k.tokenizer();
        String s = "🤖🫠 漢字";
        int[] ids = tok.encode(s);
        // some single tokens are incomplete UTF-8 on their own
        boolean sawPartial = false;
        for (int id : ids) {
            byte[] b = tok.decodeBytes(new int[] {id});
            if (!new String(b, StandardCharsets.UTF_8).equals(new String(new String(b, StandardCharsets.UTF_8)
                    .getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8))
                    || new String(b, StandardCharsets.UTF_8).contains("\uFFFD")) {
                sawPartial = true;
            }
        }
        assertTrue(sawPartial, "test needs a token that is not valid UTF-8 alone");
        StreamingDecoder d = new StreamingDecoder(tok);
        StringBuilder out = new StringBuilder();
        for (int id : ids) {
            out.append(d.next(id));
        }
        out.append(d.finish());
        assertEquals(s, out.toString());
        assertEquals(s, tok.decode(ids));
    }

    @Test
    void savedFilesReloadIdentically() throws Exception {
        BpeTokenizer tok = R50k.tokenizer();
        TokenizerFiles.save(tok, tmp);
        BpeTokenizer fromJson = TokenizerFiles.readTokenizerJson(tmp.resolve("tokenizer.json"));
        BpeTokenizer fromFiles = TokenizerFiles.readVocabAndMerges(tmp.resolve("vocab.json"), tmp.resolve("merges.txt"));
        String text = TestCorpus.generate(50_000, 7) + "<|endoftext|>";
        int[] want = tok.encode(text, true);
        assertArrayEquals(want, fromJson.encode(text, true));
        assertArrayEquals(want, fromFiles.encode(text, true));
        assertEquals(tok.vocabSize(), fromJson.vocabSize());
        assertEquals(tok.merges(), fromJson.merges());
        // a directory with only vocab.json + merges.txt is found too
        Files.delete(tmp.resolve("tokenizer.json"));
        assertArrayEquals(want, TokenizerFiles.load(tmp).encode(text, true));
    }

    @Test
    void badFilesAreReportedWithTheFileAndField() throws Exception {
        Path f = tmp.resolve("tokenizer.json");
        Files.writeString(f, "{\"model\": {\"type\": \"WordPiece\"}}");
        var e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class, () -> TokenizerFiles.load(f));
        assertTrue(e.getMessage().contains("tokenizer.json") && e.getMessage().contains("model.type"), e.getMessage());
        Files.writeString(f, "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}");
        e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class, () -> TokenizerFiles.load(f));
        assertTrue(e.getMessage().contains("byte token"), e.getMessage());
        Files.writeString(f, "{\"model\": ");
        e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class, () -> TokenizerFiles.load(f));
        assertTrue(e.getMessage().contains("not valid JSON"), e.getMessage());
    }
}
