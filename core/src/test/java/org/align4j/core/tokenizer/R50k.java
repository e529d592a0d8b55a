package org.align4j.core.tokenizer;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * GPT-2's vocabulary rebuilt from jtokkit's bundled r50k_base ranks: token bytes by rank give
 * {@code vocab.json}; each token's merge is found by running rank-based BPE on its own bytes
 * with only lower ranks, which leaves exactly two parts (how tiktoken converts GPT-2's files).
 */
final class R50k {

    private static BpeTokenizer cached;

    private R50k() {
    }

    static synchronized BpeTokenizer tokenizer() throws IOException {
        if (cached != null) {
            return cached;
        }
        List<byte[]> tokens = new ArrayList<>();
        Map<String, Integer> rankOf = new HashMap<>();
        try (InputStream in = R50k.class.getResourceAsStream("/com/knuddels/jtokkit/r50k_base.tiktoken");
             BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                String[] parts = line.split(" ");
                byte[] b = Base64.getDecoder().decode(parts[0]);
                int rank = Integer.parseInt(parts[1]);
                if (rank != tokens.size()) {
                    throw new IOException("ranks not dense at " + rank);
                }
                tokens.add(b);
                rankOf.put(ByteLevel.encode(b), rank);
            }
        }
        Map<String, Integer> vocab = new LinkedHashMap<>();
        List<BpeTokenizer.Merge> merges = new ArrayList<>();
        for (int id = 0; id < tokens.size(); id++) {
            String s = ByteLevel.encode(tokens.get(id));
            vocab.put(s, id);
            if (s.length() > 1) {
                List<String> parts = rankBpe(s, id, rankOf);
                if (parts.size() != 2) {
                    throw new IOException("token " + id + " does not split into two parts: " + parts);
                }
                merges.add(new BpeTokenizer.Merge(parts.get(0), parts.get(1)));
            }
        }
        cached = new BpeTokenizer(vocab, merges, Map.of("<|endoftext|>", 50256));
        return cached;
    }

    private static List<String> rankBpe(String s, int maxRank, Map<String, Integer> rankOf) {
        List<String> parts = new ArrayList<>();
        for (char c : s.toCharArray()) {
            parts.add(String.valueOf(c));
        }
        while (true) {
            int best = -1;
            int bestRank = maxRank;
            for (int i = 0; i + 1 < parts.size(); i++) {
                Integer r = rankOf.get(parts.get(i) + parts.get(i + 1));
                if (r != null && r < bestRank) {
                    bestRank = r;
                    best = i;
                }
            }
            if (best < 0) {
                return parts;
            }
            parts.set(best, parts.get(best) + parts.remove(best + 1));
        }
    }
}
