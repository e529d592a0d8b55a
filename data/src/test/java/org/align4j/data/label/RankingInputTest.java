package org.align4j.data.label;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.util.List;

import org.junit.jupiter.api.Test;

/** What an annotator types, parsed: rankings with spaces, ties and rationales, and the flag command. */
class RankingInputTest {

    @Test
    void aRankingStartingWithFIsARankingWhenFIsACandidate() {
        RankingInput r = RankingInput.parse("F > A > B > C > D > E", 6);
        RankingInput.Ranked ranked = assertInstanceOf(RankingInput.Ranked.class, r);
        assertEquals(List.of(List.of(5), List.of(0), List.of(1), List.of(2), List.of(3), List.of(4)),
                ranked.displayedGroups());
        assertInstanceOf(RankingInput.Ranked.class, RankingInput.parse("f=a>b>c>d>e # close call", 6));
        assertEquals("rank every candidate: missing [C, D, E]",
                assertInstanceOf(RankingInput.Invalid.class, RankingInput.parse("F > A > B", 6)).message());
    }

    @Test
    void theFlagCommandStillFlags() {
        assertEquals("all_bad", assertInstanceOf(RankingInput.Flag.class, RankingInput.parse("f", 6)).reason());
        assertEquals("unsafe", assertInstanceOf(RankingInput.Flag.class, RankingInput.parse("f unsafe", 7)).reason());
        assertEquals("prompt_unclear", assertInstanceOf(RankingInput.Flag.class, RankingInput.parse("F unclear", 3))
                .reason());
    }
}
