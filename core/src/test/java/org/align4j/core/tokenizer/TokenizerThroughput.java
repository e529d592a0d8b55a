package org.align4j.core.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.List;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;

/**
 * Encoding throughput of our GPT-2 tokenizer next to jtokkit's r50k_base on the same text, and
 * BPE training time. Not a test (no time is asserted): run by tools/bench/tokenizer_bench.sh.
 */
public final class TokenizerThroughput {

    private TokenizerThroughput() {
    }

    public static void main(String[] args) throws Exception {
        int mb = args.length > 0 ? Integer.parseInt(args[0]) : 8;
        String text = TestCorpus.generate(mb * 1_000_000, 99);
        double bytes = text.getBytes(StandardCharsets.UTF_8).length;
        BpeTokenizer ours = R50k.tokenizer();
        Encoding jtokkit = Encodings.newDefaultEncodingRegistry().getEncoding(EncodingType.R50K_BASE);
        // split into documents of ~4 KB, as a data loader would feed them
        List<String> docs = new java.util.ArrayList<>();
        for (int i = 0; i < text.length(); i += 4000) {
            int end = Math.min(text.length(), i + 4000);
            if (end < text.length() && Character.isHighSurrogate(text.charAt(end - 1))) {
                end++;
            }
            docs.add(text.substring(i, end));
            i = end - 4000;
        }
        for (int round = 0; round < 3; round++) {
            long t0 = System.nanoTime();
            long n1 = 0;
            for (String d : docs) {
                n1 += ours.encode(d).length;
            }
            double s1 = (System.nanoTime() - t0) / 1e9;
            t0 = System.nanoTime();
            long n2 = 0;
            for (String d : docs) {
                n2 += jtokkit.encodeOrdinary(d).size();
            }
            double s2 = (System.nanoTime() - t0) / 1e9;
            System.out.printf("round %d: align4j %.2f MB/s (%d tokens), jtokkit %.2f MB/s (%d tokens)%n", round,
                    bytes / s1 / 1e6, n1, bytes / s2 / 1e6, n2);
        }
        long t0 = System.nanoTime();
        BpeTrainer trainer = new BpeTrainer(8192, List.of("<|endoftext|>"));
        trainer.addText(text);
        BpeTokenizer trained = trainer.train(null);
        System.out.printf("BPE training on %.1f MB to %d tokens: %.1f s%n", bytes / 1e6, trained.vocabSize(),
                (System.nanoTime() - t0) / 1e9);
    }
}
