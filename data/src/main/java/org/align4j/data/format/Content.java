package org.align4j.data.format;

import java.util.List;

import org.align4j.core.chat.ChatMessage;

/** The prompt or a response of a preference: plain text or a list of chat messages. */
public sealed interface Content {

    /** Plain text. */
    record Text(String text) implements Content {
    }

    /** Chat messages. */
    record Messages(List<ChatMessage> messages) implements Content {
        public Messages {
            messages = List.copyOf(messages);
        }
    }
}
