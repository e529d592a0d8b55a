package org.align4j.reward.grader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

/** The calculate_output evaluator: precedence, functions and refusals, against values worked by hand. */
class FormulaTest {

    static double eval(String f, Map<String, Double> v) {
        return Formula.parse(f).eval(v);
    }

    @Test
    void precedenceParenthesesUnaryMinusAndFunctions() {
        Map<String, Double> v = Map.of("a", 0.5, "b", 0.25, "name_2", 4.0);
        assertEquals(0.5 + 0.25 * 4, eval("a + b * name_2", v), 0);
        assertEquals((0.5 + 0.25) * 4, eval("(a + b) * name_2", v), 0);
        assertEquals(0.5 - 0.25 - 4, eval("a - b - name_2", v), 0); // left to right
        assertEquals(4 / 0.5 / 0.25, eval("name_2 / a / b", v), 0);
        assertEquals(-0.5 + 4, eval("-a + name_2", v), 0);
        assertEquals(0.25, eval("min(a, b, name_2)", v), 0);
        assertEquals(4, eval("max(a, max(b, name_2))", v), 0);
        assertEquals(3.5, eval("abs(a - name_2)", v), 0);
        assertEquals(1.5e-3 + 2, eval("1.5e-3 + 2", v), 0);
        assertEquals(0.125, eval(".5 * b", v), 0);
        assertEquals(Set.of("a", "b", "name_2"), Formula.parse("min(a, b) + name_2 * 2").names());
    }

    @Test
    void anythingElseIsRefusedNamingWhereItStands() {
        for (String[] c : new String[][] {{"a ^ 2", "unexpected '^' at character 3"},
                {"a ** 2", "unexpected '*' at character 4"},
                {"pow(a, 2)", "unknown function 'pow' at character 1"},
                {"__import__('os')", "unknown function '__import__'"},
                {"min(a)", "min takes two or more arguments, got 1"},
                {"abs(a, b)", "abs takes one argument, got 2"},
                {"(a + b", "missing ')'"},
                {"a +", "unexpected end"},
                {"a b", "unexpected 'b' at character 3"},
                {"a % b", "unexpected '%'"},
                {"1.2.3", "not a number"}}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Formula.parse(c[0]), c[0]);
            assertTrue(e.getMessage().contains(c[1]), c[0] + ": " + e.getMessage());
            assertTrue(e.getMessage().contains("allowed: numbers, grader names"), e.getMessage());
        }
    }
}
