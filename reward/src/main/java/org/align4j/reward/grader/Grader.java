package org.align4j.reward.grader;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A programmatic reward: scores one sample (a model's response) given its prompt record's fields.
 * Graders are read from JSON in OpenAI's shape ({@link GraderParser}) or from a {@code --reward-fn}
 * value, and serve {@code ppo}, {@code align4j grade} and (later) the server's reinforcement
 * method alike. A grader that cannot score a sample (a reference it cannot read, a formula that
 * divides by zero) throws {@link GraderException}; {@link GraderRunner} turns that into score 0
 * and a logged error, never a crash.
 */
public interface Grader {

    /** The grader's {@code name}. */
    String name();

    /** The score of one sample. */
    double grade(GraderInput in) throws GraderException;

    /** One line saying what the grader rewards. */
    String describe();

    /**
     * What a prompt record lacks for this grader (a field a template reads), or null when it has
     * everything; checked on every record before any work.
     */
    default String checkItem(JsonNode item) {
        return null;
    }

    /** Whether samples may be graded on several threads at once (a local reward model may not). */
    default boolean concurrent() {
        return true;
    }

    /**
     * Whether the grader computes in the process that runs it (false: it calls an endpoint). A
     * {@code ppo --spark-master} run grades on its executors with the rollouts, except a grader that
     * calls out, which its driver calls with {@code --grader-concurrency} requests in flight.
     */
    default boolean local() {
        return true;
    }

    /** Whether the grader reads the response's token count. */
    default boolean needsTokens() {
        return false;
    }
}
