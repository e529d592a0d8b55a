package org.align4j.core.chat;

import java.util.Set;

/** One turn of a conversation, as in OpenAI's chat format. {@code name} may be null. */
public record ChatMessage(String role, String content, String name) {

    public static final Set<String> ROLES = Set.of("system", "user", "assistant");

    public ChatMessage {
        if (role == null) {
            throw new IllegalArgumentException("message has no role");
        }
        if (!ROLES.contains(role)) {
            throw new IllegalArgumentException("unrecognized role '" + role + "' (system, user, assistant)");
        }
        if (content == null) {
            throw new IllegalArgumentException("message has no content");
        }
    }

    public ChatMessage(String role, String content) {
        this(role, content, null);
    }
}
