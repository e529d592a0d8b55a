package org.align4j.reward.fn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The built-in rewards against hand-computed values (AFINN-165 valences: happy +3, sad -2, good +3, cried -2). */
class RewardFunctionTest {

    @Test
    void sentimentSumsValencesOverTheSquareRootOfTheLengthAndNegates() throws Exception {
        SentimentJudge j = SentimentJudge.load();
        assertEquals(3.0, j.score("Happy!"), 1e-12);
        // seven words: mia was happy then tom was sad
        assertEquals((3 - 2) / Math.sqrt(7), j.score("Mia was happy, then Tom was sad."), 1e-12);
        // "not" flips the next word and the one after it
        assertEquals(-3 / Math.sqrt(2), j.score("not happy"), 1e-12);
        assertEquals(-3 / Math.sqrt(3), j.score("never really good"), 1e-12);
        // a negation reaches two words: "didn't" flips cry (-1) and cried (-2)
        assertEquals(3 / Math.sqrt(3), j.score("didn't cry... cried"), 1e-12);
        assertEquals(0, j.score(""), 0);
    }

    @Test
    void regexAndLengthRewardsAndBadSpecs() throws Exception {
        RewardFunction red = RewardFunction.parse("regex:\\bred\\b");
        assertEquals(1, red.score("p", "a red ball", 3), 0);
        assertEquals(0, red.score("p", "a reddish ball", 3), 0);
        RewardFunction len = RewardFunction.parse("length:10");
        assertEquals(1, len.score("p", "", 10), 0);
        assertEquals(0.5, len.score("p", "", 5), 1e-12);
        assertEquals(0.5, len.score("p", "", 15), 1e-12);
        assertEquals(0, len.score("p", "", 25), 0);
        assertThrows(IllegalArgumentException.class, () -> RewardFunction.parse("regex:("));
        assertThrows(IllegalArgumentException.class, () -> RewardFunction.parse("length:x"));
        assertThrows(IllegalArgumentException.class, () -> RewardFunction.parse("joy"));
    }
}
