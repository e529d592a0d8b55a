package org.align4j.reward.grader;

import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

/** OpenAI's {@code multi}: named graders combined by a {@code calculate_output} {@link Formula}. */
public record MultiGrader(String name, Map<String, Grader> graders, Formula formula) implements Grader {

    /** Every named grader's score of the sample, in the file's order. */
    public Map<String, Double> parts(GraderInput in) throws GraderException {
        Map<String, Double> out = new LinkedHashMap<>();
        for (Map.Entry<String, Grader> e : graders.entrySet()) {
            try {
                out.put(e.getKey(), e.getValue().grade(in));
            } catch (GraderException x) {
                throw new GraderException("grader '" + e.getKey() + "': " + x.getMessage());
            }
        }
        return out;
    }

    /** The formula of the named scores; a result that is not a finite number is a failure. */
    public double combine(Map<String, Double> parts) throws GraderException {
        double r = formula.eval(parts);
        if (!Double.isFinite(r)) {
            throw new GraderException("calculate_output '" + formula + "' gave " + r + " for " + parts);
        }
        return r;
    }

    @Override
    public double grade(GraderInput in) throws GraderException {
        return combine(parts(in));
    }

    @Override
    public String checkItem(JsonNode item) {
        for (Grader g : graders.values()) {
            String m = g.checkItem(item);
            if (m != null) {
                return m;
            }
        }
        return null;
    }

    @Override
    public boolean concurrent() {
        return graders.values().stream().allMatch(Grader::concurrent);
    }

    @Override
    public boolean local() {
        return graders.values().stream().allMatch(Grader::local);
    }

    @Override
    public boolean needsTokens() {
        return graders.values().stream().anyMatch(Grader::needsTokens);
    }

    @Override
    public String describe() {
        return "multi: " + formula + " of " + String.join(", ", graders.keySet());
    }
}
