package org.align4j.serve.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

import org.align4j.core.generate.Generation;
import org.align4j.core.generate.Generator;
import org.align4j.core.generate.SamplingConfig;
import org.junit.jupiter.api.Test;

/**
 * Streamed pieces joined equal the final completion text ({@link Generator#completionText}, the
 * oracle), with a stop string split over tokens held back and never sent, and a stop token unseen.
 */
class StreamTextTest {

    /** Token id i spells the i-th of these pieces. */
    static final String[] PIECES = {"Hel", "lo", " wo", "rld", "!", "\n\n", "User", ":", " hi", "<eos>"};
    static final Function<int[], String> DECODE = ids -> {
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            sb.append(PIECES[id]);
        }
        return sb.toString();
    };

    static List<String> stream(int[] ids, SamplingConfig cfg, String finish) {
        StreamText st = new StreamText(cfg, DECODE);
        List<String> pieces = new ArrayList<>();
        for (int id : ids) {
            pieces.add(st.next(id));
        }
        int visible = ids.length > 0 && cfg.stopTokenIds().contains(ids[ids.length - 1]) ? ids.length - 1 : ids.length;
        Generation g = new Generation(new int[] {0}, ids, new double[ids.length], List.of(), finish, visible);
        pieces.add(st.finish(g));
        assertEquals(Generator.completionText(g, cfg, DECODE), String.join("", pieces));
        return pieces;
    }

    @Test
    void aStopStringOverSeveralTokensIsHeldBackAndCut() {
        SamplingConfig cfg = new SamplingConfig(20, 0, 0, 1, 0, 0, Set.of(9), List.of("\n\nUser:"));
        List<String> pieces = stream(new int[] {0, 1, 2, 3, 4, 5, 6, 7}, cfg, "stop");
        assertEquals(List.of("Hel", "lo", " wo", "rld", "!", "", "", "", ""), pieces);
    }

    @Test
    void aStopTokenIsNotText() {
        SamplingConfig cfg = new SamplingConfig(20, 0, 0, 1, 0, 0, Set.of(9), List.of());
        List<String> pieces = stream(new int[] {0, 1, 9}, cfg, "stop");
        assertEquals(List.of("Hel", "lo", "", ""), pieces);
    }

    @Test
    void aHeldBackPrefixThatDoesNotCompleteIsSentLater() {
        SamplingConfig cfg = new SamplingConfig(20, 0, 0, 1, 0, 0, Set.of(9), List.of("\n\nAssistant"));
        List<String> pieces = stream(new int[] {0, 5, 6, 8}, cfg, "length");
        assertEquals("Hel", pieces.get(0));
        assertEquals("", pieces.get(1), "'\\n\\n' may start the stop string");
        assertEquals("\n\nUser", pieces.get(2));
        assertEquals(Arrays.asList(" hi", ""), pieces.subList(3, 5));
    }
}
