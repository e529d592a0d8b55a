package org.align4j.core.tokenizer;

import org.align4j.core.util.UserInputException;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Byte-level BPE exactly as GPT-2 does it: text is split by GPT-2's pre-tokenization pattern,
 * each piece's UTF-8 bytes start as single-byte tokens, and merges apply by rank (all
 * occurrences of the best-ranked pair at once, as in GPT-2's {@code bpe()}). Special tokens
 * such as {@code <|endoftext|>} are matched whole, and only when the caller allows them.
 */
public final class BpeTokenizer {

    /** GPT-2's pre-tokenization pattern (Unicode classes, as jtokkit compiles it). */
    public static final Pattern GPT2_PATTERN = PreTokenizer.GPT2.pattern();
    private static final int CACHE_LIMIT = 200_000;

    /** A merge rule in rank order: the two parts and the resulting token, as byte-level strings. */
    public record Merge(String left, String right) {
    }

    private final Map<String, Integer> vocab;
    private final List<Merge> merges;
    private final Map<String, Integer> specials;
    private final byte[][] bytesOf;
    private final String[] stringOf;
    private final int[] byteToId = new int[256];
    private final PairRanks ranks;
    private final int[] mergedId;
    private final int[] mergeLeft;
    private final int[] mergeRight;
    private final Pattern specialPattern;
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();
    private final PreTokenizer pre;
    /** Llama 3's {@code ignore_merges}: a piece that is itself a token is that token, merges aside. */
    private final boolean ignoreMerges;

    /**
     * @param vocab    byte-level token strings to ids (the ordinary vocabulary)
     * @param merges   merge rules in rank order
     * @param specials special (added) tokens to ids
     */
    public BpeTokenizer(Map<String, Integer> vocab, List<Merge> merges, Map<String, Integer> specials) {
        this(vocab, merges, specials, PreTokenizer.GPT2, false);
    }

    /** With the pre-tokenizer of the model family and HF's {@code ignore_merges}. */
    public BpeTokenizer(Map<String, Integer> vocab, List<Merge> merges, Map<String, Integer> specials,
                        PreTokenizer pre, boolean ignoreMerges) {
        this.pre = pre;
        this.ignoreMerges = ignoreMerges;
        this.vocab = Collections.unmodifiableMap(new LinkedHashMap<>(vocab));
        this.merges = List.copyOf(merges);
        this.specials = Collections.unmodifiableMap(new LinkedHashMap<>(specials));
        int size = 0;
        for (int id : vocab.values()) {
            size = Math.max(size, id + 1);
        }
        for (int id : specials.values()) {
            size = Math.max(size, id + 1);
        }
        bytesOf = new byte[size][];
        stringOf = new String[size];
        for (Map.Entry<String, Integer> e : vocab.entrySet()) {
            byte[] b = ByteLevel.decode(e.getKey());
            if (b == null) {
                throw new UserInputException("vocabulary entry '" + e.getKey() + "' (id " + e.getValue()
                        + ") is not a byte-level token");
            }
            if (bytesOf[e.getValue()] != null) {
                throw new UserInputException("id " + e.getValue() + " is used twice in the vocabulary");
            }
            bytesOf[e.getValue()] = b;
            stringOf[e.getValue()] = e.getKey();
        }
        for (Map.Entry<String, Integer> e : specials.entrySet()) {
            if (bytesOf[e.getValue()] != null && !vocab.containsKey(e.getKey())) {
                throw new UserInputException("special token '" + e.getKey() + "' reuses id " + e.getValue());
            }
            bytesOf[e.getValue()] = e.getKey().getBytes(StandardCharsets.UTF_8);
            stringOf[e.getValue()] = e.getKey();
        }
        for (int b = 0; b < 256; b++) {
            Integer id = vocab.get(String.valueOf(ByteLevel.charOf(b)));
            if (id == null) {
                throw new UserInputException("vocabulary lacks the byte token for byte " + b
                        + " ('" + ByteLevel.charOf(b) + "')");
            }
            byteToId[b] = id;
        }
        ranks = new PairRanks(merges.size());
        mergedId = new int[merges.size()];
        mergeLeft = new int[merges.size()];
        mergeRight = new int[merges.size()];
        for (int r = 0; r < merges.size(); r++) {
            Merge m = merges.get(r);
            Integer a = vocab.get(m.left());
            Integer b = vocab.get(m.right());
            Integer c = vocab.get(m.left() + m.right());
            if (a == null || b == null || c == null) {
                throw new UserInputException("merge " + (r + 1) + " '" + m.left() + " " + m.right()
                        + "' refers to a token missing from the vocabulary");
            }
            ranks.putIfAbsent(a, b, r);
            mergedId[r] = c;
            mergeLeft[r] = a;
            mergeRight[r] = b;
        }
        if (specials.isEmpty()) {
            specialPattern = null;
        } else {
            List<String> sorted = new ArrayList<>(specials.keySet());
            sorted.sort((x, y) -> Integer.compare(y.length(), x.length()));
            StringBuilder sb = new StringBuilder();
            for (String s : sorted) {
                sb.append(sb.length() == 0 ? "" : "|").append(Pattern.quote(s));
            }
            specialPattern = Pattern.compile(sb.toString());
        }
    }

    /** Number of ids (ordinary and special). */
    public int vocabSize() {
        return bytesOf.length;
    }

    public Map<String, Integer> vocab() {
        return vocab;
    }

    public List<Merge> merges() {
        return merges;
    }

    public Map<String, Integer> specialTokens() {
        return specials;
    }

    /**
     * A hash (SHA-256, hex) of what fixes the ids of every text: each id's token and whether it is
     * special, the merges in rank order, the pre-tokenizer and {@code ignore_merges}. Equal for the
     * same tokenizer in {@code tokenizer.json} or {@code vocab.json} + {@code merges.txt}; two models
     * may share token ids only when theirs are equal.
     */
    public String fingerprint() {
        MessageDigest d;
        try {
            d = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        StringBuilder sb = new StringBuilder(pre.name()).append(ignoreMerges ? "\u0001ignore_merges" : "")
                .append('\u0000');
        for (int id = 0; id < stringOf.length; id++) {
            String kind = stringOf[id] == null ? "-" : specials.containsKey(stringOf[id]) ? "S" : "T";
            sb.append(kind).append(stringOf[id] == null ? "" : stringOf[id]).append('\u0000');
        }
        for (Merge m : merges) {
            sb.append(m.left()).append(' ').append(m.right()).append('\u0000');
        }
        return HexFormat.of().formatHex(d.digest(sb.toString().getBytes(StandardCharsets.UTF_8)));
    }

    public OptionalInt specialId(String token) {
        Integer id = specials.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /** The token's text form: its byte-level string, or a special token's content. */
    public String tokenString(int id) {
        checkId(id);
        return stringOf[id];
    }

    /** Encodes text; special-token strings in it are encoded as ordinary text. */
    public int[] encode(String text) {
        return encode(text, false);
    }

    /** Encodes text; with {@code allowSpecial}, special-token strings become their ids. */
    public int[] encode(String text, boolean allowSpecial) {
        IntList out = new IntList(Math.max(16, text.length() / 3));
        if (allowSpecial && specialPattern != null) {
            Matcher m = specialPattern.matcher(text);
            int last = 0;
            while (m.find()) {
                encodeOrdinary(text.substring(last, m.start()), out);
                out.add(specials.get(m.group()));
                last = m.end();
            }
            encodeOrdinary(text.substring(last), out);
        } else {
            encodeOrdinary(text, out);
        }
        return out.toArray();
    }

    private void encodeOrdinary(String text, IntList out) {
        if (text.isEmpty()) {
            return;
        }
        Matcher m = pre.pattern().matcher(text);
        while (m.find()) {
            String piece = m.group();
            int[] ids = cache.get(piece);
            if (ids == null) {
                byte[] bytes = piece.getBytes(StandardCharsets.UTF_8);
                Integer whole = ignoreMerges ? vocab.get(ByteLevel.encode(bytes)) : null;
                ids = whole != null ? new int[] {whole} : bpe(bytes);
                if (cache.size() > CACHE_LIMIT) {
                    cache.clear();
                }
                cache.put(piece, ids);
            }
            out.addAll(ids);
        }
    }

    /** BPE over one pre-tokenized piece. */
    int[] bpe(byte[] bytes) {
        int n = bytes.length;
        int[] syms = new int[n];
        for (int i = 0; i < n; i++) {
            syms[i] = byteToId[bytes[i] & 0xff];
        }
        while (n > 1) {
            int best = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < n; i++) {
                int r = ranks.get(syms[i], syms[i + 1]);
                if (r >= 0 && r < best) {
                    best = r;
                }
            }
            if (best == Integer.MAX_VALUE) {
                break;
            }
            int a = mergeLeft[best];
            int b = mergeRight[best];
            int c = mergedId[best];
            int j = 0;
            for (int i = 0; i < n; i++) {
                if (i + 1 < n && syms[i] == a && syms[i + 1] == b) {
                    syms[j++] = c;
                    i++;
                } else {
                    syms[j++] = syms[i];
                }
            }
            n = j;
        }
        return n == syms.length ? syms : java.util.Arrays.copyOf(syms, n);
    }

    /** The bytes the ids stand for; partial UTF-8 sequences at token edges join up here. */
    public byte[] decodeBytes(int[] ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(ids.length * 4);
        for (int id : ids) {
            checkId(id);
            out.writeBytes(bytesOf[id]);
        }
        return out.toByteArray();
    }

    /** Text of the ids (invalid UTF-8, e.g. a cut multi-byte character, becomes U+FFFD). */
    public String decode(int[] ids) {
        return new String(decodeBytes(ids), StandardCharsets.UTF_8);
    }

    private void checkId(int id) {
        if (id < 0 || id >= bytesOf.length || bytesOf[id] == null) {
            throw new UserInputException("token id " + id + " is not in the vocabulary (size " + bytesOf.length
                    + ")");
        }
    }

    /** Growable int array. */
    static final class IntList {
        private int[] a;
        private int n;

        IntList(int capacity) {
            a = new int[capacity];
        }

        void add(int v) {
            if (n == a.length) {
                a = java.util.Arrays.copyOf(a, a.length * 2);
            }
            a[n++] = v;
        }

        void addAll(int[] vs) {
            if (n + vs.length > a.length) {
                a = java.util.Arrays.copyOf(a, Math.max(a.length * 2, n + vs.length));
            }
            System.arraycopy(vs, 0, a, n, vs.length);
            n += vs.length;
        }

        int[] toArray() {
            return java.util.Arrays.copyOf(a, n);
        }
    }
}
