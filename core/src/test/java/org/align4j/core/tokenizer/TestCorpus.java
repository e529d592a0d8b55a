package org.align4j.core.tokenizer;

import java.util.SplittableRandom;

/**
 * Deterministic varied text for tokenizer tests: English prose, code, numbers, emoji (with
 * skin tones and zero-width joiners), several scripts, combining marks, and unusual
 * whitespace (tabs, runs, CRLF, NBSP, ideographic space, trailing spaces).
 */
final class TestCorpus {

    private static final String[] WORDS = ("the of and to in is was that for it with as his on be at by had are but "
            + "from or have an they which one you were her all she there would their we him been has when who will "
            + "more no if out so said what up its about into than them can only other new some could time these two "
            + "may then do first any my now such like our over man me even most made after also did many before must "
            + "through back years where much your way well down should because each just those people Mr how too "
            + "little state good very make world still own see men work long get here between both life being under "
            + "never day same another know while last might us great old year off come since against go came right "
            + "used take three don't I'm you're it's we've they'll she'd HELLO Hello hello OpenAI GPT-2 align4j JVM")
            .split(" ");
    private static final String[] CODE = {
        "public static void main(String[] args) {\n    System.out.println(\"hi\");\n}\n",
        "def f(x):\n\treturn x ** 2 if x > 0 else -x  # comment\n",
        "for (int i = 0; i < n; i++) { a[i] += b[i] * 0.5f; }\r\n",
        "SELECT id, name FROM users WHERE age >= 21 ORDER BY name;\n",
        "<div class=\"x\">&nbsp;</div>\n", "{\"key\": [1, 2.5e-3, null, true]}\n", "x=>x+1;;\n",
        "    if let Some(v) = map.get(&k) { v.clone() }\n"};
    private static final String[] SCRIPTS = {
        "Привет, мир! Как дела?", "Γειά σου κόσμε", "こんにちは世界、元気ですか。", "你好，世界！今天天气很好。",
        "안녕하세요 세계", "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก", "Xin chào thế giới",
        "Ünïcödé façade naïve résumé", "e\u0301 a\u0308 n\u0303 o\u0327\u0301", "Ǆ ǅ ǆ ß ẞ ﬁ"};
    private static final String[] EMOJI = {
        "😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "❤️", "🇩🇪", "🧑🏿‍💻", "✋🏻", "🤖", "1️⃣", "🫠"};
    private static final String[] SPACES = {
        " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n ", "\u00a0", "\u3000", "\u2003", "\t\t  ", "    \n"};

    private TestCorpus() {
    }

    static String generate(int chars, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        StringBuilder sb = new StringBuilder(chars + 256);
        while (sb.length() < chars) {
            int kind = r.nextInt(100);
            if (kind < 45) {
                sb.append(WORDS[r.nextInt(WORDS.length)]);
                sb.append(r.nextInt(10) == 0 ? ", " : r.nextInt(12) == 0 ? ". " : " ");
            } else if (kind < 55) {
                sb.append(CODE[r.nextInt(CODE.length)]);
            } else if (kind < 63) {
                sb.append(r.nextInt(3) == 0 ? Long.toString(r.nextLong()) : Integer.toString(r.nextInt(100000)));
                sb.append(r.nextBoolean() ? "." + r.nextInt(1000) : "").append(' ');
            } else if (kind < 73) {
                sb.append(SCRIPTS[r.nextInt(SCRIPTS.length)]).append(' ');
            } else if (kind < 80) {
                sb.append(EMOJI[r.nextInt(EMOJI.length)]);
                if (r.nextBoolean()) {
                    sb.append(' ');
                }
            } else if (kind < 90) {
                sb.append(SPACES[r.nextInt(SPACES.length)]);
            } else {
                // random code points from assorted blocks, including astral planes
                int[] starts = {0x20, 0xA0, 0x370, 0x590, 0x900, 0x1F300, 0x2000, 0x4E00, 0x10000, 0x1D400};
                int base = starts[r.nextInt(starts.length)];
                for (int k = 0; k < 1 + r.nextInt(6); k++) {
                    int cp = base + r.nextInt(0x60);
                    if (Character.isValidCodePoint(cp) && !Character.isSurrogate((char) cp) || cp > 0xFFFF) {
                        sb.appendCodePoint(cp);
                    }
                }
            }
        }
        return sb.toString();
    }
}
