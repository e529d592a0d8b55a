package org.align4j.reward.fn;

import java.io.IOException;

import org.align4j.core.util.Json;
import org.align4j.reward.grader.Grader;
import org.align4j.reward.grader.GraderException;
import org.align4j.reward.grader.GraderInput;
import org.align4j.reward.grader.GraderParser;

/**
 * A programmatic reward of a response to a prompt, as the pipeline's gold judges and simulated
 * annotators use it: {@code sentiment} (the AFINN-165 judge of the controlled task),
 * {@code regex:PATTERN} (1 when the response contains a match, else 0) and {@code length:N}
 * (1 at exactly N tokens, falling linearly to 0 at 0 and 2N tokens). The values parse into the
 * graders {@code ppo} and {@code grade} use ({@link GraderParser#rewardFn}), so each rule has one
 * implementation.
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
        return of(GraderParser.rewardFn(spec, option));
    }

    /** A grader that reads no item field beyond the prompt, as a reward function. */
    static RewardFunction of(Grader grader) {
        return new RewardFunction() {
            public double score(String prompt, String response, int tokens) {
                try {
                    return grader.grade(new GraderInput(Json.MAPPER.createObjectNode().put("prompt", prompt), response,
                            tokens));
                } catch (GraderException e) {
                    // the --reward-fn graders read only the response and its length, which are always there
                    throw new IllegalStateException(e.getMessage(), e);
                }
            }

            public String describe() {
                return grader.describe();
            }
        };
    }
}
