package org.align4j.core.chat;

import org.align4j.core.util.UserInputException;
import java.util.Set;

/** One turn of a conversation, as in OpenAI's chat format. {@code name} may be null. */
public record ChatMessage(String role, String content, String name) {

    public static final Set<String> ROLES = Set.of("system", "user", "assistant");

    public ChatMessage {
        if (role == null) {
            throw new UserInputException("message has no role");
        }
        if (!ROLES.contains(role)) {
            throw new UserInputException("unrecognized role '" + role + "' (system, user, assistant)");
        }
        if (content == null) {
            throw new UserInputException("message has no content");
        }
    }

    public ChatMessage(String role, String content) {
        this(role, content, null);
    }
}
