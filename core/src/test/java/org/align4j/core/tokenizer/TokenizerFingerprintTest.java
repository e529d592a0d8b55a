package org.align4j.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.align4j.core.util.UserInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two models may share token ids only with one tokenizer: the fingerprint is the same for the same
 * tokenizer in either file format and differs when the vocabulary, a merge or a special token does.
 */
class TokenizerFingerprintTest {

    @TempDir
    Path tmp;

    private static BpeTokenizer trained(String text, List<String> specials) {
        BpeTrainer t = new BpeTrainer(300, specials);
        t.addText(text);
        return t.train(s -> { });
    }

    private static final String CORPUS = "the cat sat on the mat and the dog ran under a log.\n".repeat(20);

    @Test
    void theFingerprintIsTheTokenizerNotItsFileFormat() throws Exception {
        BpeTokenizer tok = trained(CORPUS, List.of("<|endoftext|>"));
        TokenizerFiles.save(tok, tmp.resolve("both"));
        Path json = Files.createDirectories(tmp.resolve("json"));
        Files.copy(tmp.resolve("both").resolve("tokenizer.json"), json.resolve("tokenizer.json"));
        Path vm = Files.createDirectories(tmp.resolve("vocab-merges"));
        Files.copy(tmp.resolve("both").resolve("vocab.json"), vm.resolve("vocab.json"));
        Files.copy(tmp.resolve("both").resolve("merges.txt"), vm.resolve("merges.txt"));
        assertEquals(tok.fingerprint(), TokenizerFiles.load(json).fingerprint());
        assertEquals(tok.fingerprint(), TokenizerFiles.load(vm).fingerprint());
        assertEquals(64, tok.fingerprint().length());
        TokenizerFiles.requireSameTokenizer("--model", json, "--ref-model", vm);
    }

    @Test
    void anotherVocabularyMergeOrSpecialTokenChangesIt() {
        BpeTokenizer tok = trained(CORPUS, List.of("<|endoftext|>"));
        String fp = tok.fingerprint();
        assertNotEquals(fp, trained("a big red dog and a small blue cat.\n".repeat(20), List.of("<|endoftext|>"))
                .fingerprint());
        assertNotEquals(fp, trained(CORPUS, List.of("<|endoftext|>", "<|im_end|>")).fingerprint());
        // the same vocabulary with the last merge dropped: the ids of existing tokens agree, the tokenization does not
        List<BpeTokenizer.Merge> fewer = tok.merges().subList(0, tok.merges().size() - 1);
        assertNotEquals(fp, new BpeTokenizer(tok.vocab(), fewer, tok.specialTokens()).fingerprint());
        // the same tokens under other ids
        Map<String, Integer> specials = new LinkedHashMap<>();
        tok.specialTokens().forEach((k, v) -> specials.put(k, v + 1));
        assertNotEquals(fp, new BpeTokenizer(tok.vocab(), tok.merges(), specials).fingerprint());
        assertEquals(fp, new BpeTokenizer(tok.vocab(), tok.merges(), tok.specialTokens()).fingerprint());
    }

    @Test
    void twoModelsWithDifferentTokenizersAreRefusedNamingBoth() throws Exception {
        Path a = tmp.resolve("a");
        Path b = tmp.resolve("b");
        TokenizerFiles.save(trained(CORPUS, List.of("<|endoftext|>")), a);
        TokenizerFiles.save(trained("a big red dog and a small blue cat.\n".repeat(20), List.of("<|endoftext|>")), b);
        UserInputException e = assertThrows(UserInputException.class,
                () -> TokenizerFiles.requireSameTokenizer("--model", a, "--ref-model", b));
        assertTrue(e.getMessage().startsWith("--ref-model " + b + " has another tokenizer than --model " + a
                + " (vocabulary, merges or special tokens differ"), e.getMessage());
        Path none = Files.createDirectories(tmp.resolve("no-tokenizer"));
        UserInputException missing = assertThrows(UserInputException.class,
                () -> TokenizerFiles.requireSameTokenizer("--model", a, "--value-model", none));
        assertTrue(missing.getMessage().startsWith("--value-model " + none + ": no tokenizer files"),
                missing.getMessage());
    }
}
