package org.align4j.reward.grader;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * align4j's {@code math_answer}: 1 when the final answer of the input (the response by default:
 * its last boxed answer or number, see {@link MathAnswer}) equals the reference's within
 * {@code tolerance}, else 0. A response without an answer scores 0; a reference without one is a
 * failure of the grader on that sample.
 */
public record MathAnswerGrader(String name, Template input, Template reference, double tolerance) implements Grader {

    @Override
    public double grade(GraderInput in) throws GraderException {
        String ref = MathAnswer.reference(reference.render(in));
        if (ref.isEmpty()) {
            throw new GraderException("math_answer '" + name + "': the reference " + reference + " is empty");
        }
        String answer = MathAnswer.extract(input.render(in));
        return answer != null && MathAnswer.equal(answer, ref, tolerance) ? 1 : 0;
    }

    @Override
    public String checkItem(JsonNode item) {
        return Template.firstMissing(item, input, reference);
    }

    @Override
    public String describe() {
        return "math_answer: 1 when the last boxed answer or number of " + (input == Template.OUTPUT_TEXT
                ? "the response" : input) + " equals " + reference + " (tolerance " + tolerance + "), else 0";
    }
}
