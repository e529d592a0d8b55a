package org.align4j.reward.grader;

import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;

/** align4j's {@code regex} (and {@code --reward-fn regex:P}): 1 when the input contains a match of the pattern, else 0. */
public record RegexGrader(String name, Template input, Pattern pattern) implements Grader {

    @Override
    public double grade(GraderInput in) throws GraderException {
        return pattern.matcher(input.render(in)).find() ? 1 : 0;
    }

    @Override
    public String checkItem(JsonNode item) {
        return input.missing(item);
    }

    @Override
    public String describe() {
        return "1 when " + (input == Template.OUTPUT_TEXT ? "the response" : input) + " contains a match of /"
                + pattern + "/, else 0";
    }
}
