package org.align4j.serve.infer;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.chat.ChatMessage;
import org.align4j.serve.ApiError;

/** A {@code POST /v1/chat/completions} body, checked field by field. */
record ChatRequest(String model, List<ChatMessage> messages, Decoding decoding) {

    /** Fields that change what the model must do (tools, structured output, audio...): refused by name. */
    static final Set<String> UNSUPPORTED = Set.of("tools", "tool_choice", "functions", "function_call", "audio",
            "prediction", "web_search_options");

    static ChatRequest parse(JsonNode body) {
        Fields f = Fields.body(body);
        String model = f.requiredString("model");
        f.refuse(UNSUPPORTED);
        if (f.has("response_format")) {
            String type = Fields.object(f.raw("response_format"), "response_format").string("type", "text");
            if (!type.equals("text")) {
                throw ApiError.invalid("response_format", "'response_format' of type '" + type + "' is not supported"
                        + " by align4j serve (only 'text').");
            }
        }
        if (f.has("modalities")) {
            JsonNode m = f.raw("modalities");
            if (!m.isArray() || m.size() != 1 || !m.get(0).asText().equals("text")) {
                throw ApiError.invalid("modalities", "align4j serve only produces 'text'.");
            }
        }
        List<ChatMessage> messages = messages(f, "messages");
        Long max = f.integer("max_completion_tokens", 1, Integer.MAX_VALUE);
        if (max == null) {
            max = f.integer("max_tokens", 1, Integer.MAX_VALUE);
        }
        Decoding d = Decoding.parse(f, max == null ? null : max.intValue());
        boolean logprobs = f.bool("logprobs", false);
        Long top = f.integer("top_logprobs", 0, 20);
        if (top != null && !logprobs) {
            throw ApiError.invalid("top_logprobs", "'top_logprobs' needs 'logprobs': true.");
        }
        return new ChatRequest(model, messages, d.withLogprobs(logprobs, top == null ? 0 : top.intValue()));
    }

    /** The chat messages in {@code f}'s {@code field} (also the prompt of a scored pair). */
    static List<ChatMessage> messages(Fields f, String field) {
        JsonNode arr = f.raw(field);
        String name = f.param(field);
        if (arr == null) {
            throw ApiError.invalid(name, "Missing required parameter: '" + name + "'.");
        }
        if (!arr.isArray()) {
            throw f.wrongType(field, "an array", arr);
        }
        if (arr.isEmpty()) {
            throw ApiError.invalid(name, "'" + name + "' must hold at least one message.");
        }
        List<ChatMessage> out = new ArrayList<>();
        for (int i = 0; i < arr.size(); i++) {
            String at = name + "[" + i + "]";
            Fields m = Fields.object(arr.get(i), at);
            String role = m.requiredString("role");
            if (role.equals("developer")) {
                role = "system"; // OpenAI's newer name for the system turn
            }
            if (!ChatMessage.ROLES.contains(role)) {
                throw ApiError.invalid(at + ".role", "Invalid '" + at + ".role': '" + role + "' (align4j serve"
                        + " takes system, developer, user and assistant messages; no tools).");
            }
            if (m.has("tool_calls") || m.has("function_call")) {
                throw ApiError.invalid(at + ".tool_calls", "Tool calls are not supported by align4j serve.");
            }
            out.add(new ChatMessage(role, content(m, at), m.string("name", null)));
        }
        return out;
    }

    /** A message's content: a string, or text parts (other parts refused by index). */
    private static String content(Fields m, String at) {
        JsonNode c = m.raw("content");
        if (c == null) {
            throw ApiError.invalid(at + ".content", "Missing required parameter: '" + at + ".content'.");
        }
        if (c.isTextual()) {
            return c.asText();
        }
        if (!c.isArray()) {
            throw m.wrongType("content", "a string or an array of content parts", c);
        }
        StringBuilder sb = new StringBuilder();
        for (int j = 0; j < c.size(); j++) {
            String part = at + ".content[" + j + "]";
            Fields p = Fields.object(c.get(j), part);
            String type = p.requiredString("type");
            if (!type.equals("text")) {
                throw ApiError.invalid(part + ".type", "Content parts of type '" + type + "' are not supported by"
                        + " align4j serve (only 'text').");
            }
            sb.append(p.requiredString("text"));
        }
        return sb.toString();
    }
}
