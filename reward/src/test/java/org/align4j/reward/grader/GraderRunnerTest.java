package org.align4j.reward.grader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.util.Json;
import org.junit.jupiter.api.Test;

/** A grader that fails on one sample gives it 0 and the message; slow graders overlap up to the bound. */
class GraderRunnerTest {

    static JsonNode item(String answer) {
        return answer == null ? Json.MAPPER.createObjectNode() : Json.MAPPER.createObjectNode().put("answer", answer);
    }

    @Test
    void aFailingSampleScoresZeroWithItsErrorAndTheOthersAreGraded() throws Exception {
        Grader g = GradersTest.parse("""
                {"type": "multi", "name": "m", "calculate_output": "exact / math",
                 "graders": {
                   "exact": {"type": "string_check", "name": "exact", "input": "{{sample.output_text}}",
                             "reference": "{{item.answer}}", "operation": "eq"},
                   "math": {"type": "math_answer", "name": "math", "reference": "{{item.answer}}"}}}""");
        try (GraderRunner r = new GraderRunner(g, 2)) {
            List<GraderRunner.Grade> grades = r.gradeAll(List.of(
                    new GraderInput(item("4"), "4", -1),
                    new GraderInput(item(null), "4", -1), // the item lacks its answer
                    new GraderInput(item("4"), "5", -1))); // 0 / 0: not a number
            assertEquals(1.0, grades.get(0).score(), 0);
            assertNull(grades.get(0).error());
            assertEquals(Map.of("exact", 1.0, "math", 1.0), grades.get(0).parts());
            assertEquals(0.0, grades.get(1).score(), 0);
            assertEquals("grader 'exact': {{item.answer}}: the item has no such field", grades.get(1).error());
            assertEquals(0.0, grades.get(2).score(), 0);
            assertTrue(grades.get(2).error().startsWith("calculate_output 'exact / math' gave NaN"),
                    grades.get(2).error());
        }
    }

    /** A grader that sleeps, counting how many run at once. */
    static final class Slow implements Grader {
        final AtomicInteger running = new AtomicInteger();
        final AtomicInteger most = new AtomicInteger();

        public String name() {
            return "slow";
        }

        public double grade(GraderInput in) {
            most.accumulateAndGet(running.incrementAndGet(), Math::max);
            try {
                Thread.sleep(30);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            running.decrementAndGet();
            if (in.outputText().equals("boom")) {
                throw new IllegalStateException("boom");
            }
            return in.outputText().length();
        }

        public String describe() {
            return "slow";
        }
    }

    @Test
    void concurrencyIsBoundedAndOrderKept() {
        Slow slow = new Slow();
        List<GraderInput> in = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            in.add(new GraderInput(item(null), i == 5 ? "boom" : "x".repeat(i), -1));
        }
        try (GraderRunner r = new GraderRunner(slow, 3)) {
            List<GraderRunner.Grade> grades = r.gradeAll(in);
            for (int i = 0; i < 12; i++) {
                assertEquals(i == 5 ? 0 : i, grades.get(i).score(), 0);
            }
            assertEquals("grader 'slow' failed: java.lang.IllegalStateException: boom", grades.get(5).error());
        }
        assertEquals(3, slow.most.get(), "three at a time, no more");
        Slow serial = new Slow();
        try (GraderRunner r = new GraderRunner(serial, 1)) {
            r.gradeAll(in);
        }
        assertEquals(1, serial.most.get());
    }
}
