package org.align4j.reward.grader;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the final answer of a worked solution: the content of its last {@code \boxed{...}}
 * (braces balanced), else its last number ({@code -12}, {@code 1,234.5}, {@code .5}; a minus
 * sign counts only where it cannot be subtraction, so "10-3" ends in 3). Answers compare as
 * numbers where both read as one (commas, {@code $}, {@code a/b} and {@code \frac{a}{b}}
 * allowed), else as text without spaces.
 */
public final class MathAnswer {

    private static final String NUMBER = "(?:\\d{1,3}(?:,\\d{3})+|\\d+)(?:\\.\\d+)?|\\.\\d+";
    private static final Pattern LAST_NUMBER = Pattern.compile("(?:(?<![\\w)\\].])-)?(?:" + NUMBER + ")");
    private static final Pattern WHOLE_NUMBER = Pattern.compile("[-+]?(?:" + NUMBER + ")");
    private static final Pattern FRACTION = Pattern.compile("(-?)\\\\d?frac\\{([^{}]+)}\\{([^{}]+)}|([^/]+)/([^/]+)");

    private MathAnswer() {
    }

    /** The final answer of a response, or null when it has none. */
    public static String extract(String text) {
        String boxed = lastBoxed(text);
        if (boxed != null) {
            return boxed.strip();
        }
        Matcher m = LAST_NUMBER.matcher(text);
        String last = null;
        while (m.find()) {
            last = m.group();
        }
        return last;
    }

    /** The answer a reference states: a number, the last {@code \boxed{}}, the text after {@code ####}, else all of it. */
    public static String reference(String text) {
        String t = text.strip();
        if (value(t) != null) {
            return t;
        }
        String boxed = lastBoxed(t);
        if (boxed != null) {
            return boxed.strip();
        }
        int hashes = t.lastIndexOf("####");
        return hashes >= 0 ? t.substring(hashes + 4).strip() : t;
    }

    private static String lastBoxed(String text) {
        int at = text.lastIndexOf("\\boxed{");
        if (at < 0) {
            return null;
        }
        int start = at + "\\boxed{".length();
        int depth = 1;
        for (int i = start; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '{') {
                depth++;
            } else if (c == '}' && --depth == 0) {
                return text.substring(start, i);
            }
        }
        return null; // unclosed: no boxed answer
    }

    /** The number an answer stands for, or null when it is not one. */
    public static Double value(String answer) {
        String a = answer.replace("\\$", "").replace("$", "").replace("\\,", "").replace("\\!", "")
                .replaceAll("\\s+", "");
        if (a.isEmpty()) {
            return null;
        }
        if (WHOLE_NUMBER.matcher(a).matches()) {
            return Double.parseDouble(a.replace(",", ""));
        }
        Matcher f = FRACTION.matcher(a);
        if (f.matches()) {
            String num = f.group(2) != null ? f.group(2) : f.group(4);
            String den = f.group(2) != null ? f.group(3) : f.group(5);
            Double n = value(num);
            Double d = value(den);
            if (n != null && d != null && d != 0) {
                return (f.group(1) != null && !f.group(1).isEmpty() ? -1 : 1) * n / d;
            }
        }
        return null;
    }

    /** Whether a response's answer equals the reference's: within {@code tolerance} as numbers, else as text. */
    public static boolean equal(String answer, String reference, double tolerance) {
        Double a = value(answer);
        Double r = value(reference);
        if (a != null && r != null) {
            return Math.abs(a - r) <= tolerance;
        }
        return answer.replaceAll("\\s+", "").equals(reference.replaceAll("\\s+", ""));
    }
}
