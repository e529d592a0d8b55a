package org.align4j.reward.grader;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A {@code multi} grader's {@code calculate_output}: numbers, grader names, + - * /, parentheses,
 * and the functions min, max (two or more arguments) and abs. It is parsed once into a tree, so
 * nothing a file says is ever executed; anything else is an IllegalArgumentException naming the
 * character where it stands.
 */
public final class Formula {

    private interface Node {
        double eval(Map<String, Double> values);
    }

    private final String source;
    private final Node root;
    private final Set<String> names = new LinkedHashSet<>();
    private int pos;

    private Formula(String source) {
        this.source = source;
        this.root = expression();
        skipSpaces();
        if (pos < source.length()) {
            throw error("unexpected '" + source.charAt(pos) + "'");
        }
    }

    public static Formula parse(String source) {
        return new Formula(source);
    }

    /** The grader names the formula reads. */
    public Set<String> names() {
        return names;
    }

    /** The value given each name's score (every name must have one). */
    public double eval(Map<String, Double> values) {
        return root.eval(values);
    }

    @Override
    public String toString() {
        return source;
    }

    private IllegalArgumentException error(String what) {
        return new IllegalArgumentException("'" + source + "': " + what + " at character " + (pos + 1)
                + " (allowed: numbers, grader names, + - * / ( ), min, max, abs)");
    }

    private void skipSpaces() {
        while (pos < source.length() && Character.isWhitespace(source.charAt(pos))) {
            pos++;
        }
    }

    private boolean eat(char c) {
        skipSpaces();
        if (pos < source.length() && source.charAt(pos) == c) {
            pos++;
            return true;
        }
        return false;
    }

    private Node expression() {
        Node left = term();
        while (true) {
            if (eat('+')) {
                Node a = left;
                Node b = term();
                left = v -> a.eval(v) + b.eval(v);
            } else if (eat('-')) {
                Node a = left;
                Node b = term();
                left = v -> a.eval(v) - b.eval(v);
            } else {
                return left;
            }
        }
    }

    private Node term() {
        Node left = unary();
        while (true) {
            if (eat('*')) {
                Node a = left;
                Node b = unary();
                left = v -> a.eval(v) * b.eval(v);
            } else if (eat('/')) {
                Node a = left;
                Node b = unary();
                left = v -> a.eval(v) / b.eval(v);
            } else {
                return left;
            }
        }
    }

    private Node unary() {
        if (eat('-')) {
            Node a = unary();
            return v -> -a.eval(v);
        }
        if (eat('+')) {
            return unary();
        }
        return primary();
    }

    private Node primary() {
        skipSpaces();
        if (pos >= source.length()) {
            throw error("unexpected end");
        }
        char c = source.charAt(pos);
        if (c == '(') {
            pos++;
            Node inner = expression();
            if (!eat(')')) {
                throw error("missing ')'");
            }
            return inner;
        }
        if (Character.isDigit(c) || c == '.') {
            int start = pos;
            while (pos < source.length() && (Character.isDigit(source.charAt(pos)) || source.charAt(pos) == '.')) {
                pos++;
            }
            if (pos < source.length() && (source.charAt(pos) == 'e' || source.charAt(pos) == 'E')) {
                pos++;
                if (pos < source.length() && (source.charAt(pos) == '+' || source.charAt(pos) == '-')) {
                    pos++;
                }
                while (pos < source.length() && Character.isDigit(source.charAt(pos))) {
                    pos++;
                }
            }
            double x;
            try {
                x = Double.parseDouble(source.substring(start, pos));
            } catch (NumberFormatException e) {
                pos = start;
                throw error("not a number '" + source.substring(start).split("[^0-9.eE+-]")[0] + "'");
            }
            return v -> x;
        }
        if (Character.isLetter(c) || c == '_') {
            int start = pos;
            while (pos < source.length() && (Character.isLetterOrDigit(source.charAt(pos)) || source.charAt(pos) == '_')) {
                pos++;
            }
            String id = source.substring(start, pos);
            skipSpaces();
            if (pos < source.length() && source.charAt(pos) == '(') {
                return call(id, start);
            }
            names.add(id);
            return v -> v.get(id);
        }
        throw error("unexpected '" + c + "'");
    }

    private Node call(String fn, int start) {
        if (!fn.equals("min") && !fn.equals("max") && !fn.equals("abs")) {
            pos = start;
            throw error("unknown function '" + fn + "'");
        }
        pos++; // (
        List<Node> args = new ArrayList<>();
        if (!eat(')')) {
            do {
                args.add(expression());
            } while (eat(','));
            if (!eat(')')) {
                throw error("missing ')' after the arguments of " + fn);
            }
        }
        if (fn.equals("abs") ? args.size() != 1 : args.size() < 2) {
            pos = start;
            throw error(fn + " takes " + (fn.equals("abs") ? "one argument" : "two or more arguments") + ", got "
                    + args.size());
        }
        if (fn.equals("abs")) {
            Node a = args.get(0);
            return v -> Math.abs(a.eval(v));
        }
        boolean min = fn.equals("min");
        return v -> {
            double r = args.get(0).eval(v);
            for (int i = 1; i < args.size(); i++) {
                double x = args.get(i).eval(v);
                r = min ? Math.min(r, x) : Math.max(r, x);
            }
            return r;
        };
    }
}
