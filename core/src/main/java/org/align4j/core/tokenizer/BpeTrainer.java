package org.align4j.core.tokenizer;

import org.align4j.core.util.UserInputException;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.function.Consumer;
import java.util.regex.Matcher;

/**
 * Trains a byte-level BPE vocabulary on text files, deterministically. Files are streamed in
 * blocks cut after a newline and only the pre-tokenized pieces are counted, so memory follows
 * the number of distinct pieces, not the corpus size; past {@code maxDistinctPieces} the
 * pieces seen once are dropped from the counts (a piece that rare cannot win a merge).
 *
 * <p>Ids: the 256 byte tokens in GPT-2's order, then one token per merge in merge order, then
 * the special tokens. Ties between equally frequent pairs go to the pair of smaller ids.
 */
public final class BpeTrainer {

    private static final int BLOCK_CHARS = 1 << 20;

    private final int vocabSize;
    private final List<String> specialTokens;
    private final int minFrequency;
    private final int maxDistinctPieces;
    private final Map<String, Long> pieceCounts = new HashMap<>();

    public BpeTrainer(int vocabSize, List<String> specialTokens, int minFrequency, int maxDistinctPieces) {
        if (vocabSize < 256 + specialTokens.size()) {
            throw new UserInputException("vocab size " + vocabSize + " must be at least 256 byte tokens + "
                    + specialTokens.size() + " special tokens");
        }
        this.vocabSize = vocabSize;
        this.specialTokens = List.copyOf(specialTokens);
        this.minFrequency = Math.max(1, minFrequency);
        this.maxDistinctPieces = maxDistinctPieces;
    }

    public BpeTrainer(int vocabSize, List<String> specialTokens) {
        this(vocabSize, specialTokens, 2, 4_000_000);
    }

    /** Counts the pieces of a file, streaming it. */
    public void addFile(Path file) throws IOException {
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            char[] buf = new char[BLOCK_CHARS];
            StringBuilder carry = new StringBuilder();
            int n;
            while ((n = r.read(buf)) > 0) {
                carry.append(buf, 0, n);
                int cut = carry.lastIndexOf("\n");
                if (cut >= 0) {
                    addText(carry.substring(0, cut + 1));
                    carry.delete(0, cut + 1);
                } else if (carry.length() > 16 * BLOCK_CHARS) {
                    addText(carry.toString());
                    carry.setLength(0);
                }
            }
            addText(carry.toString());
        } catch (java.nio.charset.MalformedInputException e) {
            throw new IOException(file + ": not valid UTF-8 text", e);
        }
    }

    /** Counts the pieces of a text; special-token strings are not learned from. */
    public void addText(String text) {
        for (String special : specialTokens) {
            text = text.replace(special, " ");
        }
        Matcher m = BpeTokenizer.GPT2_PATTERN.matcher(text);
        while (m.find()) {
            pieceCounts.merge(ByteLevel.encode(m.group().getBytes(StandardCharsets.UTF_8)), 1L, Long::sum);
        }
        if (pieceCounts.size() > maxDistinctPieces) {
            pieceCounts.values().removeIf(c -> c <= 1);
        }
    }

    /** Learns merges until the vocabulary (with special tokens) reaches the target size. */
    public BpeTokenizer train(Consumer<String> progress) {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        List<String> idToString = new ArrayList<>();
        for (int i = 0; i < 256; i++) {
            String s = String.valueOf(ByteLevel.charOf(ByteLevel.byteAtRank(i)));
            vocab.put(s, i);
            idToString.add(s);
        }
        int[] byteId = new int[256];
        for (int i = 0; i < 256; i++) {
            byteId[ByteLevel.byteAtRank(i)] = i;
        }
        // words in a fixed order (sorted) so that training does not depend on hash iteration order
        List<String> pieces = new ArrayList<>(pieceCounts.keySet());
        pieces.sort(null);
        int nWords = pieces.size();
        int[][] words = new int[nWords][];
        long[] counts = new long[nWords];
        for (int w = 0; w < nWords; w++) {
            String p = pieces.get(w);
            words[w] = new int[p.length()];
            for (int i = 0; i < p.length(); i++) {
                words[w][i] = byteId[ByteLevel.byteOf(p.charAt(i))];
            }
            counts[w] = pieceCounts.get(p);
        }
        Map<Long, Long> pairCount = new HashMap<>();
        Map<Long, IntBag> pairWords = new HashMap<>();
        for (int w = 0; w < nWords; w++) {
            addPairs(words[w], counts[w], w, pairCount, pairWords);
        }
        PriorityQueue<long[]> heap = new PriorityQueue<>((a, b) -> a[0] != b[0] ? Long.compare(b[0], a[0])
                : Long.compare(a[1], b[1]));
        pairCount.forEach((k, c) -> heap.add(new long[] {c, k}));

        List<BpeTokenizer.Merge> merges = new ArrayList<>();
        int target = vocabSize - specialTokens.size();
        while (idToString.size() < target && !heap.isEmpty()) {
            long[] top = heap.poll();
            long pair = top[1];
            long current = pairCount.getOrDefault(pair, 0L);
            if (current != top[0]) {
                if (current > 0) {
                    heap.add(new long[] {current, pair});
                }
                continue;
            }
            if (current < minFrequency) {
                break;
            }
            int a = (int) (pair >>> 32);
            int b = (int) pair;
            int merged = idToString.size();
            String s = idToString.get(a) + idToString.get(b);
            idToString.add(s);
            vocab.put(s, merged);
            merges.add(new BpeTokenizer.Merge(idToString.get(a), idToString.get(b)));
            IntBag affected = pairWords.remove(pair);
            Map<Long, Long> changed = new HashMap<>();
            for (int w : affected.distinct()) {
                int[] old = words[w];
                if (!contains(old, a, b)) {
                    continue;
                }
                removePairs(old, counts[w], pairCount, changed);
                int[] next = mergeIn(old, a, b, merged);
                words[w] = next;
                addPairs(next, counts[w], w, pairCount, pairWords);
                notePairs(next, changed);
            }
            pairCount.remove(pair);
            for (Long k : changed.keySet()) {
                long c = pairCount.getOrDefault(k, 0L);
                if (c > 0) {
                    heap.add(new long[] {c, k});
                } else {
                    pairCount.remove(k);
                }
            }
            if (progress != null && merges.size() % 500 == 0) {
                progress.accept("merges: " + merges.size() + " / " + (target - 256));
            }
        }
        Map<String, Integer> specials = new LinkedHashMap<>();
        for (String sp : specialTokens) {
            specials.put(sp, idToString.size() + specials.size());
        }
        return new BpeTokenizer(vocab, merges, specials);
    }

    private static boolean contains(int[] w, int a, int b) {
        for (int i = 0; i + 1 < w.length; i++) {
            if (w[i] == a && w[i + 1] == b) {
                return true;
            }
        }
        return false;
    }

    private static int[] mergeIn(int[] w, int a, int b, int merged) {
        int[] out = new int[w.length];
        int j = 0;
        for (int i = 0; i < w.length; i++) {
            if (i + 1 < w.length && w[i] == a && w[i + 1] == b) {
                out[j++] = merged;
                i++;
            } else {
                out[j++] = w[i];
            }
        }
        return java.util.Arrays.copyOf(out, j);
    }

    private static void addPairs(int[] w, long count, int word, Map<Long, Long> pairCount, Map<Long, IntBag> pairWords) {
        for (int i = 0; i + 1 < w.length; i++) {
            long k = PairRanks.key(w[i], w[i + 1]);
            pairCount.merge(k, count, Long::sum);
            pairWords.computeIfAbsent(k, x -> new IntBag()).add(word);
        }
    }

    private static void removePairs(int[] w, long count, Map<Long, Long> pairCount, Map<Long, Long> changed) {
        for (int i = 0; i + 1 < w.length; i++) {
            long k = PairRanks.key(w[i], w[i + 1]);
            pairCount.merge(k, -count, Long::sum);
            changed.put(k, 0L);
        }
    }

    private static void notePairs(int[] w, Map<Long, Long> changed) {
        for (int i = 0; i + 1 < w.length; i++) {
            changed.put(PairRanks.key(w[i], w[i + 1]), 0L);
        }
    }

    /** Word indices, possibly repeated, deduplicated on read. */
    private static final class IntBag {
        private int[] a = new int[4];
        private int n;

        void add(int v) {
            if (n > 0 && a[n - 1] == v) {
                return;
            }
            if (n == a.length) {
                a = java.util.Arrays.copyOf(a, n * 2);
            }
            a[n++] = v;
        }

        int[] distinct() {
            return java.util.Arrays.stream(a, 0, n).distinct().sorted().toArray();
        }
    }
}
