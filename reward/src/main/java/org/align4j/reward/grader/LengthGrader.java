package org.align4j.reward.grader;

/** align4j's {@code length} (and {@code --reward-fn length:N}): 1 at exactly N response tokens, falling linearly to 0 at 0 and 2N. */
public record LengthGrader(String name, int target) implements Grader {

    @Override
    public double grade(GraderInput in) throws GraderException {
        if (in.tokens() < 0) {
            throw new GraderException("length grader '" + name + "' needs the response's token count (give a"
                    + " tokenizer)");
        }
        return Math.max(0, 1 - Math.abs(in.tokens() - target) / (double) target);
    }

    @Override
    public boolean needsTokens() {
        return true;
    }

    @Override
    public String describe() {
        return "1 at " + target + " tokens, falling linearly to 0 at 0 and " + 2 * target;
    }
}
