package org.align4j.reward.fn;

import java.io.IOException;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

import org.align4j.core.util.UserInputException;

/**
 * A programmatic reward of a response to a prompt, so the same RL trainer serves reward models and
 * verifiable rewards: {@code sentiment} (the AFINN-165 judge of the controlled task),
 * {@code regex:PATTERN} (1 when the response contains a match, else 0) and {@code length:N}
 * (1 at exactly N tokens, falling linearly to 0 at 0 and 2N tokens).
 */
public interface RewardFunction {

    /** The reward of {@code response} (text without the end-of-sequence token; {@code tokens} its token count). */
    double score(String prompt, String response, int tokens);

    String describe();

    /** Parses a {@code --reward-fn} value; errors name the option. */
    static RewardFunction parse(String spec) throws IOException {
        return parse(spec, "--reward-fn");
    }

    /**
     * Parses a judge's name as given to {@code option} (a flag such as {@code --judge}, or a config
     * file's key): errors name that option and the valid values.
     */
    static RewardFunction parse(String spec, String option) throws IOException {
        if (spec.equals("sentiment")) {
            return SentimentJudge.load();
        }
        if (spec.startsWith("regex:")) {
            String re = spec.substring("regex:".length());
            Pattern p;
            try {
                p = Pattern.compile(re);
            } catch (PatternSyntaxException e) {
                throw new UserInputException(option + " regex: not a valid regular expression: " + e.getDescription());
            }
            return new RewardFunction() {
                public double score(String prompt, String response, int tokens) {
                    return p.matcher(response).find() ? 1 : 0;
                }

                public String describe() {
                    return "1 when the response contains a match of /" + re + "/, else 0";
                }
            };
        }
        if (spec.startsWith("length:")) {
            int n;
            try {
                n = Integer.parseInt(spec.substring("length:".length()));
            } catch (NumberFormatException e) {
                throw new UserInputException(option + " length:N needs a whole number of tokens, got '" + spec + "'");
            }
            if (n < 1) {
                throw new UserInputException(option + " length:N needs N >= 1, got " + n);
            }
            return new RewardFunction() {
                public double score(String prompt, String response, int tokens) {
                    return Math.max(0, 1 - Math.abs(tokens - n) / (double) n);
                }

                public String describe() {
                    return "1 at " + n + " tokens, falling linearly to 0 at 0 and " + 2 * n;
                }
            };
        }
        throw new UserInputException(option + ": unknown function '" + spec + "'; valid values: sentiment,"
                + " regex:PATTERN, length:N");
    }
}
