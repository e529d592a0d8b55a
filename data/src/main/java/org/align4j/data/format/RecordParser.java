package org.align4j.data.format;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.chat.ChatMessage;

/**
 * Turns one JSON object into a {@link DataRecord} of a given kind, or says precisely what is
 * wrong with it. Problems name the field ({@code messages[2].role}); the caller adds file and
 * line.
 */
public final class RecordParser {

    /** Either a record or the problems that prevented it. */
    public record Result(DataRecord record, List<Issue> problems) {
        public boolean ok() {
            return record != null;
        }
    }

    /** A problem without its location. */
    public record Issue(ProblemKind kind, String message) {
    }

    private static final Set<String> MESSAGE_KEYS = Set.of("role", "content", "name", "weight");
    private static final Set<String> TEXT_KEYS = Set.of("text", "id", "meta", "metadata");
    private static final Set<String> COMPLETION_KEYS = Set.of("prompt", "completion", "id", "meta", "metadata");
    private static final Set<String> CHAT_KEYS = Set.of("messages", "id", "meta", "metadata", "tools");
    /** The largest margin a preference pair may ask for (in reward units). */
    public static final int MAX_MARGIN = 100;
    private static final Set<String> PREFERENCE_KEYS = Set.of("prompt", "chosen", "rejected", "margin", "id", "meta",
            "metadata");
    private static final Set<String> UNPAIRED_KEYS = Set.of("prompt", "completion", "label", "id", "meta",
            "metadata");
    /** OpenAI's DPO format: {@code input.messages}, {@code preferred_output}, {@code non_preferred_output}. */
    private static final Set<String> OPENAI_PREFERENCE_KEYS = Set.of("input", "preferred_output",
            "non_preferred_output", "id", "meta", "metadata");
    private static final Set<String> OPENAI_INPUT_KEYS = Set.of("messages", "tools", "parallel_tool_calls");
    private static final Set<String> RANKING_KEYS = Set.of("prompt", "responses", "ranking", "id", "meta", "metadata");

    private RecordParser() {
    }

    /** The kind a JSON object looks like, or null. */
    public static RecordKind detect(JsonNode o) {
        if (o == null || !o.isObject()) {
            return null;
        }
        if (isOpenAiPreference(o)) {
            return RecordKind.PREFERENCE;
        }
        if (o.has("messages")) {
            return RecordKind.CHAT;
        }
        if (o.has("responses") || o.has("ranking")) {
            return RecordKind.RANKING;
        }
        if (o.has("chosen") || o.has("rejected")) {
            return RecordKind.PREFERENCE;
        }
        if (o.has("label") && (o.has("completion") || o.has("prompt"))) {
            return RecordKind.UNPAIRED;
        }
        if (o.has("completion")) {
            return RecordKind.COMPLETION;
        }
        if (o.has("text")) {
            return RecordKind.TEXT;
        }
        return null;
    }

    public static Result parse(JsonNode o, RecordKind kind) {
        List<Issue> issues = new ArrayList<>();
        if (o == null || !o.isObject()) {
            issues.add(new Issue(ProblemKind.NOT_AN_OBJECT, "expected a JSON object, got " + typeOf(o)));
            return new Result(null, issues);
        }
        DataRecord r = switch (kind) {
            case TEXT -> text(o, issues);
            case COMPLETION -> completion(o, issues);
            case CHAT -> chat(o, issues);
            case PREFERENCE -> preference(o, issues);
            case RANKING -> ranking(o, issues);
            case UNPAIRED -> unpaired(o, issues);
        };
        return new Result(issues.isEmpty() ? r : null, issues);
    }

    static String typeOf(JsonNode n) {
        if (n == null || n.isNull()) {
            return "null";
        }
        if (n.isTextual()) {
            return "a string";
        }
        if (n.isNumber()) {
            return "a number";
        }
        if (n.isBoolean()) {
            return "a boolean";
        }
        if (n.isArray()) {
            return "an array";
        }
        return "an object";
    }

    private static void unknownKeys(JsonNode o, Set<String> allowed, String where, List<Issue> issues,
                                    ProblemKind kind) {
        Iterator<String> it = o.fieldNames();
        while (it.hasNext()) {
            String k = it.next();
            if (!allowed.contains(k)) {
                issues.add(new Issue(kind, "unrecognized key '" + k + "'" + where));
            }
        }
    }

    /** A required string field; adds an issue and returns null when absent or not a string. */
    private static String string(JsonNode o, String field, List<Issue> issues) {
        JsonNode n = o.get(field);
        if (n == null || n.isNull()) {
            issues.add(new Issue(ProblemKind.MISSING_FIELD, "missing field '" + field + "'"));
            return null;
        }
        if (!n.isTextual()) {
            issues.add(new Issue(ProblemKind.WRONG_TYPE, "field '" + field + "' must be a string, got " + typeOf(n)));
            return null;
        }
        return n.asText();
    }

    private static DataRecord text(JsonNode o, List<Issue> issues) {
        unknownKeys(o, TEXT_KEYS, "", issues, ProblemKind.UNRECOGNIZED_KEY);
        String t = string(o, "text", issues);
        if (t != null && t.isEmpty()) {
            issues.add(new Issue(ProblemKind.EMPTY_TEXT, "field 'text' is empty"));
        }
        return t == null ? null : new DataRecord.Text(t);
    }

    private static DataRecord completion(JsonNode o, List<Issue> issues) {
        unknownKeys(o, COMPLETION_KEYS, "", issues, ProblemKind.UNRECOGNIZED_KEY);
        String p = string(o, "prompt", issues);
        String c = string(o, "completion", issues);
        if (c != null && c.isEmpty()) {
            issues.add(new Issue(ProblemKind.EMPTY_COMPLETION, "field 'completion' is empty"));
        }
        return p == null || c == null ? null : new DataRecord.Completion(p, c);
    }

    /** Messages of {@code field}, checked as OpenAI's checker does. */
    private static List<ChatMessage> messages(JsonNode o, String field, List<Issue> issues, boolean needAssistant) {
        return messages(o, field, field, issues, needAssistant);
    }

    /** As {@link #messages(JsonNode, String, List, boolean)}; {@code label} is the field's full name in messages. */
    private static List<ChatMessage> messages(JsonNode o, String field, String label, List<Issue> issues,
                                              boolean needAssistant) {
        JsonNode list = o.get(field);
        if (list == null || !list.isArray()) {
            issues.add(new Issue(ProblemKind.MISSING_MESSAGES_LIST, list == null ? "missing field '" + label + "'"
                    : "field '" + label + "' must be a list of messages, got " + typeOf(list)));
            return null;
        }
        List<ChatMessage> out = new ArrayList<>();
        boolean assistant = false;
        int before = issues.size();
        for (int i = 0; i < list.size(); i++) {
            JsonNode m = list.get(i);
            String where = label + "[" + i + "]";
            if (!m.isObject()) {
                issues.add(new Issue(ProblemKind.WRONG_TYPE, where + " must be an object, got " + typeOf(m)));
                continue;
            }
            if (!m.has("role") || !m.has("content")) {
                issues.add(new Issue(ProblemKind.MESSAGE_MISSING_KEY, where + " lacks '"
                        + (!m.has("role") ? "role" : "content") + "'"));
            }
            unknownKeys(m, MESSAGE_KEYS, " in " + where, issues, ProblemKind.MESSAGE_UNRECOGNIZED_KEY);
            String role = m.path("role").asText(null);
            if (m.has("role") && (role == null || !ChatMessage.ROLES.contains(role))) {
                issues.add(new Issue(ProblemKind.UNRECOGNIZED_ROLE, where + ".role '" + m.get("role").asText()
                        + "' is not system, user or assistant"));
            }
            JsonNode content = m.get("content");
            if (m.has("content") && (content == null || !content.isTextual() || content.asText().isEmpty())) {
                issues.add(new Issue(ProblemKind.MISSING_CONTENT, where + ".content must be a non-empty string"));
            }
            if ("assistant".equals(role)) {
                assistant = true;
            }
            if (issues.size() == before && role != null && content != null) {
                JsonNode name = m.get("name");
                out.add(new ChatMessage(role, content.asText(), name == null ? null : name.asText()));
            }
        }
        if (needAssistant && !assistant && issues.size() == before) {
            issues.add(new Issue(ProblemKind.EXAMPLE_MISSING_ASSISTANT_MESSAGE, "field '" + label
                    + "' has no assistant message"));
        }
        return issues.size() == before ? out : null;
    }

    private static DataRecord chat(JsonNode o, List<Issue> issues) {
        unknownKeys(o, CHAT_KEYS, "", issues, ProblemKind.UNRECOGNIZED_KEY);
        List<ChatMessage> m = messages(o, "messages", issues, true);
        return m == null ? null : new DataRecord.Chat(m);
    }

    /** Whether {@code o} is in OpenAI's DPO format rather than TRL's chosen/rejected. */
    private static boolean isOpenAiPreference(JsonNode o) {
        return o.has("preferred_output") || o.has("non_preferred_output")
                || (o.has("input") && !o.has("messages") && !o.has("text") && !o.has("prompt"));
    }

    /**
     * OpenAI's DPO record: {@code {"input": {"messages": [...]}, "preferred_output": [assistant
     * message], "non_preferred_output": [assistant message]}}; the prompt is the input's messages.
     * Tools are not supported: a non-empty {@code input.tools} is refused rather than ignored.
     */
    private static DataRecord openAiPreference(JsonNode o, List<Issue> issues) {
        unknownKeys(o, OPENAI_PREFERENCE_KEYS, "", issues, ProblemKind.UNRECOGNIZED_KEY);
        JsonNode input = o.get("input");
        if (input == null || !input.isObject()) {
            issues.add(new Issue(input == null ? ProblemKind.MISSING_FIELD : ProblemKind.WRONG_TYPE, input == null
                    ? "missing field 'input'" : "field 'input' must be an object with 'messages', got " + typeOf(input)));
            return null;
        }
        unknownKeys(input, OPENAI_INPUT_KEYS, " in input", issues, ProblemKind.UNRECOGNIZED_KEY);
        JsonNode tools = input.get("tools");
        if (tools != null && !(tools.isArray() && tools.isEmpty())) {
            issues.add(new Issue(ProblemKind.WRONG_TYPE, "field 'input.tools' is not supported: align4j trains"
                    + " without tools; leave it out or empty"));
        }
        for (String field : List.of("preferred_output", "non_preferred_output")) {
            if (!o.has(field)) {
                issues.add(new Issue(ProblemKind.MISSING_FIELD, "missing field '" + field + "'"));
            }
        }
        if (!issues.isEmpty()) {
            return null;
        }
        List<ChatMessage> prompt = messages(input, "messages", "input.messages", issues, false);
        List<ChatMessage> chosen = messages(o, "preferred_output", issues, false);
        List<ChatMessage> rejected = messages(o, "non_preferred_output", issues, false);
        if (prompt == null || chosen == null || rejected == null) {
            return null;
        }
        if (prompt.isEmpty()) {
            issues.add(new Issue(ProblemKind.MISSING_MESSAGES_LIST, "field 'input.messages' is empty"));
            return null;
        }
        if (chosen.isEmpty() || rejected.isEmpty()) {
            issues.add(new Issue(ProblemKind.EMPTY_COMPLETION, "'" + (chosen.isEmpty() ? "preferred_output"
                    : "non_preferred_output") + "' has no messages"));
            return null;
        }
        if (!onlyAssistant(chosen, "preferred_output", issues) || !onlyAssistant(rejected, "non_preferred_output",
                issues)) {
            return null;
        }
        if (chosen.equals(rejected)) {
            issues.add(new Issue(ProblemKind.CHOSEN_EQUALS_REJECTED, "'preferred_output' and 'non_preferred_output'"
                    + " are the same"));
            return null;
        }
        return new DataRecord.Preference(new Content.Messages(prompt), new Content.Messages(chosen),
                new Content.Messages(rejected), null);
    }

    private static DataRecord preference(JsonNode o, List<Issue> issues) {
        if (isOpenAiPreference(o)) {
            return openAiPreference(o, issues);
        }
        unknownKeys(o, PREFERENCE_KEYS, "", issues, ProblemKind.UNRECOGNIZED_KEY);
        if (!o.has("chosen") || !o.has("rejected")) {
            issues.add(new Issue(ProblemKind.MISSING_FIELD, "missing field '" + (o.has("chosen") ? "rejected"
                    : "chosen") + "'"));
            return null;
        }
        Double margin = null;
        if (o.has("margin")) {
            JsonNode m = o.get("margin");
            // beyond +-MAX_MARGIN the pair's sigmoid is saturated in float32: a larger margin only overflows the loss
            if (!m.isNumber() || !(Math.abs(m.asDouble()) <= MAX_MARGIN)) {
                issues.add(new Issue(ProblemKind.BAD_MARGIN, "field 'margin' must be a number between -" + MAX_MARGIN
                        + " and " + MAX_MARGIN + ", got " + m));
                return null;
            }
            margin = m.asDouble();
        }
        boolean conversational = o.get("chosen").isArray() || o.get("rejected").isArray();
        if (conversational) {
            return conversationalPreference(o, margin, issues);
        }
        String chosen = string(o, "chosen", issues);
        String rejected = string(o, "rejected", issues);
        if (chosen == null || rejected == null) {
            return null;
        }
        String prompt;
        if (o.has("prompt")) {
            prompt = string(o, "prompt", issues);
            if (prompt == null) {
                return null;
            }
        } else {
            // implicit prompt: the longest shared prefix (TRL's extract_prompt for text)
            int n = 0;
            while (n < chosen.length() && n < rejected.length() && chosen.charAt(n) == rejected.charAt(n)) {
                n++;
            }
            if (n == 0) {
                issues.add(new Issue(ProblemKind.NO_SHARED_PROMPT, "no field 'prompt' and 'chosen' and 'rejected'"
                        + " share no prefix to take as the prompt"));
                return null;
            }
            prompt = chosen.substring(0, n);
            chosen = chosen.substring(n);
            rejected = rejected.substring(n);
        }
        if (chosen.equals(rejected)) {
            issues.add(new Issue(ProblemKind.CHOSEN_EQUALS_REJECTED, "'chosen' and 'rejected' are the same"));
            return null;
        }
        if (chosen.isEmpty() || rejected.isEmpty()) {
            issues.add(new Issue(ProblemKind.EMPTY_COMPLETION, "'" + (chosen.isEmpty() ? "chosen" : "rejected")
                    + "' is empty after the prompt"));
            return null;
        }
        return new DataRecord.Preference(new Content.Text(prompt), new Content.Text(chosen),
                new Content.Text(rejected), margin);
    }

    private static DataRecord conversationalPreference(JsonNode o, Double margin, List<Issue> issues) {
        List<ChatMessage> chosen = messages(o, "chosen", issues, false);
        List<ChatMessage> rejected = messages(o, "rejected", issues, false);
        if (chosen == null || rejected == null) {
            return null;
        }
        List<ChatMessage> prompt;
        if (o.has("prompt")) {
            prompt = messages(o, "prompt", issues, false);
            if (prompt == null) {
                return null;
            }
        } else {
            int n = 0;
            while (n < chosen.size() && n < rejected.size() && chosen.get(n).equals(rejected.get(n))) {
                n++;
            }
            if (n == 0) {
                issues.add(new Issue(ProblemKind.NO_SHARED_PROMPT, "no field 'prompt' and 'chosen' and 'rejected'"
                        + " share no leading messages to take as the prompt"));
                return null;
            }
            prompt = chosen.subList(0, n);
            chosen = chosen.subList(n, chosen.size());
            rejected = rejected.subList(n, rejected.size());
        }
        if (chosen.isEmpty() || rejected.isEmpty()) {
            issues.add(new Issue(ProblemKind.EMPTY_COMPLETION, "'" + (chosen.isEmpty() ? "chosen" : "rejected")
                    + "' has no messages after the prompt"));
            return null;
        }
        if (!onlyAssistant(chosen, "chosen", issues) || !onlyAssistant(rejected, "rejected", issues)) {
            return null;
        }
        if (chosen.equals(rejected)) {
            issues.add(new Issue(ProblemKind.CHOSEN_EQUALS_REJECTED, "'chosen' and 'rejected' are the same"));
            return null;
        }
        return new DataRecord.Preference(new Content.Messages(prompt), new Content.Messages(chosen),
                new Content.Messages(rejected), margin);
    }

    /** A response after the prompt is assistant messages only; otherwise an issue naming the field. */
    private static boolean onlyAssistant(List<ChatMessage> response, String field, List<Issue> issues) {
        for (ChatMessage m : response) {
            if (!m.role().equals("assistant")) {
                issues.add(new Issue(ProblemKind.WRONG_TYPE, "'" + field + "' after the prompt must be assistant"
                        + " messages, found role '" + m.role() + "'"));
                return false;
            }
        }
        return true;
    }

    /**
     * TRL's unpaired preference: a prompt, one completion and a boolean label, as text or as
     * messages (the prompt's messages, then the assistant's completion messages).
     */
    private static DataRecord unpaired(JsonNode o, List<Issue> issues) {
        unknownKeys(o, UNPAIRED_KEYS, "", issues, ProblemKind.UNRECOGNIZED_KEY);
        JsonNode label = o.get("label");
        if (label == null || label.isNull()) {
            issues.add(new Issue(ProblemKind.MISSING_FIELD, "missing field 'label' (true: desirable, false:"
                    + " undesirable)"));
        } else if (!label.isBoolean()) {
            issues.add(new Issue(ProblemKind.WRONG_TYPE, "field 'label' must be true or false, got " + typeOf(label)
                    + (label.isTextual() ? " \"" + label.asText() + "\"" : label.isNumber() ? " " + label : "")));
        }
        if (!o.has("prompt") || !o.has("completion")) {
            issues.add(new Issue(ProblemKind.MISSING_FIELD, "missing field '" + (o.has("prompt") ? "completion"
                    : "prompt") + "'"));
            return null;
        }
        boolean conversational = o.get("prompt").isArray() || o.get("completion").isArray();
        Content prompt;
        Content completion;
        if (conversational) {
            List<ChatMessage> p = messages(o, "prompt", issues, false);
            List<ChatMessage> c = messages(o, "completion", issues, false);
            if (p == null || c == null) {
                return null;
            }
            if (c.isEmpty()) {
                issues.add(new Issue(ProblemKind.EMPTY_COMPLETION, "field 'completion' has no messages"));
                return null;
            }
            if (!onlyAssistant(c, "completion", issues)) {
                return null;
            }
            prompt = new Content.Messages(p);
            completion = new Content.Messages(c);
        } else {
            String p = string(o, "prompt", issues);
            String c = string(o, "completion", issues);
            if (p == null || c == null) {
                return null;
            }
            if (c.isEmpty()) {
                issues.add(new Issue(ProblemKind.EMPTY_COMPLETION, "field 'completion' is empty"));
                return null;
            }
            prompt = new Content.Text(p);
            completion = new Content.Text(c);
        }
        return issues.isEmpty() ? new DataRecord.Unpaired(prompt, completion, label.asBoolean()) : null;
    }

    private static DataRecord ranking(JsonNode o, List<Issue> issues) {
        unknownKeys(o, RANKING_KEYS, "", issues, ProblemKind.UNRECOGNIZED_KEY);
        String prompt = string(o, "prompt", issues);
        JsonNode resp = o.get("responses");
        JsonNode rank = o.get("ranking");
        if (resp == null || rank == null) {
            issues.add(new Issue(ProblemKind.MISSING_FIELD, "missing field '" + (resp == null ? "responses" : "ranking")
                    + "'"));
            return null;
        }
        if (!resp.isArray()) {
            issues.add(new Issue(ProblemKind.WRONG_TYPE, "field 'responses' must be a list of strings"));
            return null;
        }
        List<String> responses = new ArrayList<>();
        for (int i = 0; i < resp.size(); i++) {
            if (!resp.get(i).isTextual()) {
                issues.add(new Issue(ProblemKind.WRONG_TYPE, "responses[" + i + "] must be a string, got "
                        + typeOf(resp.get(i))));
                return null;
            }
            responses.add(resp.get(i).asText());
        }
        if (responses.size() < 2) {
            issues.add(new Issue(ProblemKind.TOO_FEW_RESPONSES, "a ranking needs at least 2 responses, got "
                    + responses.size()));
            return null;
        }
        if (!rank.isArray()) {
            issues.add(new Issue(ProblemKind.WRONG_TYPE, "field 'ranking' must be a list of groups of indices"));
            return null;
        }
        List<List<Integer>> groups = new ArrayList<>();
        Set<Integer> seen = new HashSet<>();
        for (int g = 0; g < rank.size(); g++) {
            JsonNode group = rank.get(g);
            List<Integer> ids = new ArrayList<>();
            // a bare index is a group of one
            for (JsonNode idx : group.isArray() ? group : List.of(group)) {
                if (!idx.canConvertToInt() || idx.asInt() < 0 || idx.asInt() >= responses.size() || !idx.isIntegralNumber()) {
                    issues.add(new Issue(ProblemKind.RANKING_NOT_A_PERMUTATION, "ranking[" + g + "] has " + idx
                            + ", not a response index 0.." + (responses.size() - 1)));
                    return null;
                }
                if (!seen.add(idx.asInt())) {
                    issues.add(new Issue(ProblemKind.RANKING_NOT_A_PERMUTATION, "ranking lists response " + idx.asInt()
                            + " twice"));
                    return null;
                }
                ids.add(idx.asInt());
            }
            if (ids.isEmpty()) {
                issues.add(new Issue(ProblemKind.RANKING_NOT_A_PERMUTATION, "ranking[" + g + "] is an empty group"));
                return null;
            }
            groups.add(ids);
        }
        if (seen.size() != responses.size()) {
            List<Integer> missing = new ArrayList<>();
            for (int i = 0; i < responses.size(); i++) {
                if (!seen.contains(i)) {
                    missing.add(i);
                }
            }
            issues.add(new Issue(ProblemKind.RANKING_NOT_A_PERMUTATION, "ranking leaves out response(s) " + missing));
            return null;
        }
        return prompt == null ? null : new DataRecord.Ranking(prompt, responses, groups);
    }
}
