package org.align4j.reward.grader;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A grader string with OpenAI's template references: {@code {{item.FIELD}}} (nested fields and
 * array indices as {@code item.a.b[0]}) reads the prompt record, {@code {{sample.output_text}}} the
 * response. Anything else inside braces is refused when the grader is read.
 */
public final class Template {

    private static final Pattern REF = Pattern.compile("\\{\\{(.*?)}}");
    private static final Pattern ITEM_PATH = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*(\\[\\d+])*"
            + "(\\.[A-Za-z_][A-Za-z0-9_]*(\\[\\d+])*)*");
    private static final Pattern STEP = Pattern.compile("([A-Za-z_][A-Za-z0-9_]*)|\\[(\\d+)]");

    /** The response text, the default input of align4j's own graders. */
    public static final Template OUTPUT_TEXT = parse("{{sample.output_text}}");

    /** A literal piece (ref == null) or a reference: the item's path steps, or none for the output text. */
    private record Part(String literal, String ref, List<Object> steps) {
    }

    private final String source;
    private final List<Part> parts;

    private Template(String source, List<Part> parts) {
        this.source = source;
        this.parts = parts;
    }

    /** Parses a template; an unknown reference is an IllegalArgumentException saying what is allowed. */
    public static Template parse(String s) {
        List<Part> parts = new ArrayList<>();
        Matcher m = REF.matcher(s);
        int at = 0;
        while (m.find()) {
            if (m.start() > at) {
                parts.add(new Part(s.substring(at, m.start()), null, null));
            }
            String ref = m.group(1).trim();
            if (ref.equals("sample.output_text")) {
                parts.add(new Part(null, ref, null));
            } else if (ref.startsWith("item.") && ITEM_PATH.matcher(ref.substring(5)).matches()) {
                List<Object> steps = new ArrayList<>();
                Matcher st = STEP.matcher(ref.substring(5));
                while (st.find()) {
                    steps.add(st.group(1) != null ? st.group(1) : (Object) Integer.parseInt(st.group(2)));
                }
                parts.add(new Part(null, ref, steps));
            } else {
                throw new IllegalArgumentException("template reference {{" + ref + "}} is not supported: use"
                        + " {{item.FIELD}} (the prompt record's fields) or {{sample.output_text}} (the response)");
            }
            at = m.end();
        }
        String rest = s.substring(at);
        if (rest.contains("{{")) {
            throw new IllegalArgumentException("'{{' without its closing '}}' in \"" + s + "\"");
        }
        if (!rest.isEmpty()) {
            parts.add(new Part(rest, null, null));
        }
        return new Template(s, parts);
    }

    public String source() {
        return source;
    }

    /** The text with every reference replaced. */
    public String render(GraderInput in) throws GraderException {
        StringBuilder sb = new StringBuilder();
        for (Part p : parts) {
            if (p.ref() == null) {
                sb.append(p.literal());
            } else if (p.steps() == null) {
                sb.append(in.outputText());
            } else {
                JsonNode v = lookup(in.item(), p.steps());
                if (v == null) {
                    throw new GraderException("{{" + p.ref() + "}}: the item has no such field");
                }
                sb.append(v.isValueNode() ? v.asText() : v.toString());
            }
        }
        return sb.toString();
    }

    /** The first reference the item cannot satisfy ("{{item.answer}}"), or null. */
    public String missing(JsonNode item) {
        for (Part p : parts) {
            if (p.steps() != null && lookup(item, p.steps()) == null) {
                return "{{" + p.ref() + "}}";
            }
        }
        return null;
    }

    /** The first reference of {@code templates} that {@code item} lacks, or null. */
    public static String firstMissing(JsonNode item, Template... templates) {
        for (Template t : templates) {
            String m = t.missing(item);
            if (m != null) {
                return m;
            }
        }
        return null;
    }

    private static JsonNode lookup(JsonNode item, List<Object> steps) {
        JsonNode v = item;
        for (Object step : steps) {
            if (v == null) {
                return null;
            }
            v = step instanceof Integer i ? (v.isArray() ? v.get(i) : null) : (v.isObject() ? v.get((String) step) : null);
        }
        return v == null || v.isNull() || v.isMissingNode() ? null : v;
    }

    @Override
    public String toString() {
        return source;
    }
}
