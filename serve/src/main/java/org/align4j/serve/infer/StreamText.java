package org.align4j.serve.infer;

import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

import org.align4j.core.generate.Generation;
import org.align4j.core.generate.Generator;
import org.align4j.core.generate.SamplingConfig;

/**
 * A streamed choice's text: each new token gives the text that became certain (not a possible start
 * of a stop string, not half a UTF-8 character), so that the pieces joined are exactly the
 * completion's final text ({@link Generator#completionText}).
 */
final class StreamText {

    private final SamplingConfig cfg;
    private final Function<int[], String> decoder;
    private int[] ids = new int[16];
    private int length;
    private String sent = "";

    StreamText(SamplingConfig cfg, Function<int[], String> decoder) {
        this.cfg = cfg;
        this.decoder = decoder;
    }

    /** The new text once {@code id} is generated (may be empty). */
    String next(int id) {
        if (cfg.stopTokenIds().contains(id)) {
            return "";
        }
        if (length == ids.length) {
            ids = Arrays.copyOf(ids, 2 * length);
        }
        ids[length++] = id;
        String text = decoder.apply(Arrays.copyOf(ids, length));
        int cut = text.length();
        for (String stop : cfg.stopStrings()) {
            int at = text.indexOf(stop);
            if (at >= 0) {
                cut = Math.min(cut, at);
            }
        }
        boolean stopped = cut < text.length();
        text = text.substring(0, cut);
        if (!stopped) {
            text = text.substring(0, text.length() - heldBack(text, cfg.stopStrings()));
        }
        while (text.endsWith("\uFFFD")) {
            text = text.substring(0, text.length() - 1); // half a character: its next bytes complete it
        }
        return advance(text);
    }

    /** The rest of the text once the choice ended with {@code g}. */
    String finish(Generation g) {
        return advance(Generator.completionText(g, cfg, decoder));
    }

    private String advance(String text) {
        if (text.length() <= sent.length() || !text.startsWith(sent)) {
            return "";
        }
        String delta = text.substring(sent.length());
        sent = text;
        return delta;
    }

    /** Length of the longest end of {@code text} that begins some stop string (it may yet complete one). */
    static int heldBack(String text, List<String> stops) {
        int hold = 0;
        for (String stop : stops) {
            for (int k = Math.min(stop.length() - 1, text.length()); k > hold; k--) {
                if (text.regionMatches(text.length() - k, stop, 0, k)) {
                    hold = k;
                    break;
                }
            }
        }
        return hold;
    }
}
