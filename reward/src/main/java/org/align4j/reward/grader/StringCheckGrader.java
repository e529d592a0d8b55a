package org.align4j.reward.grader;

import java.util.Locale;

import com.fasterxml.jackson.databind.JsonNode;

/** OpenAI's {@code string_check}: 1 when the rendered input and reference satisfy the operation, else 0. */
public record StringCheckGrader(String name, Template input, Template reference, Operation operation)
        implements Grader {

    /** eq and ne compare whole strings, case-sensitive; like contains the reference, ilike ignoring case. */
    public enum Operation { EQ, NE, LIKE, ILIKE;

        boolean test(String input, String reference) {
            return switch (this) {
                case EQ -> input.equals(reference);
                case NE -> !input.equals(reference);
                case LIKE -> input.contains(reference);
                case ILIKE -> input.toLowerCase(Locale.ROOT).contains(reference.toLowerCase(Locale.ROOT));
            };
        }

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    @Override
    public double grade(GraderInput in) throws GraderException {
        return operation.test(input.render(in), reference.render(in)) ? 1 : 0;
    }

    @Override
    public String checkItem(JsonNode item) {
        return Template.firstMissing(item, input, reference);
    }

    @Override
    public String describe() {
        return "string_check: 1 when " + input + " " + operation + " " + reference + ", else 0";
    }
}
