package org.align4j.reward.grader;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.reward.fn.SentimentJudge;

/** align4j's {@code sentiment} (and {@code --reward-fn sentiment}): the controlled task's AFINN-165 judge of the input. */
public record SentimentGrader(String name, Template input, SentimentJudge judge) implements Grader {

    @Override
    public double grade(GraderInput in) throws GraderException {
        return judge.score(input.render(in));
    }

    @Override
    public String checkItem(JsonNode item) {
        return input.missing(item);
    }

    @Override
    public String describe() {
        return judge.describe() + (input == Template.OUTPUT_TEXT ? "" : " of " + input);
    }
}
