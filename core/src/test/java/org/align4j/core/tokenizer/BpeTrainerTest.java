package org.align4j.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BpeTrainerTest {

    @TempDir
    Path tmp;

    @Test
    void mergesOfATinyCorpusAreThoseComputedByHand() {
        // pieces: "ab" once, " ab" twice -> (a,b) occurs 3 times, (Ġ,a) twice; after a+b: (Ġ,ab) twice
        BpeTrainer t = new BpeTrainer(256 + 2, List.of());
        t.addText("ab ab ab");
        BpeTokenizer tok = t.train(null);
        assertEquals(List.of(new BpeTokenizer.Merge("a", "b"), new BpeTokenizer.Merge("Ġ", "ab")), tok.merges());
        assertArrayEquals(new int[] {256, 257, 257}, tok.encode("ab ab ab"));
    }

    @Test
    void trainingIsDeterministicReachesTheSizeAndRoundTrips() throws Exception {
        String corpus = TestCorpus.generate(300_000, 11);
        Path file = tmp.resolve("corpus.txt");
        Files.writeString(file, corpus);
        List<String> specials = List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>");
        BpeTrainer a = new BpeTrainer(1200, specials);
        a.addFile(file);
        BpeTokenizer ta = a.train(null);
        BpeTrainer b = new BpeTrainer(1200, specials);
        b.addFile(file);
        BpeTokenizer tb = b.train(null);
        assertEquals(ta.merges(), tb.merges());
        assertEquals(1200, ta.vocabSize());
        assertEquals(1197, ta.specialId("<|endoftext|>").getAsInt());
        int[] ids = ta.encode(corpus);
        assertEquals(corpus, ta.decode(ids));
        assertTrue(ids.length < corpus.length() / 2, "a trained vocabulary compresses: " + ids.length);
        for (String s : new String[] {"never seen: ЖЖЖ 🫠 \r\n\t", "<|im_end|>", "e\u0301"}) {
            assertEquals(s, ta.decode(ta.encode(s)));
        }
        TokenizerFiles.save(ta, tmp.resolve("tok"));
        BpeTokenizer loaded = TokenizerFiles.load(tmp.resolve("tok"));
        assertArrayEquals(ta.encode(corpus + "<|im_start|>", true), loaded.encode(corpus + "<|im_start|>", true));
        assertEquals(ta.specialTokens(), loaded.specialTokens());
    }
}
