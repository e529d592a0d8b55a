package org.align4j.data.format;

import java.util.List;

import org.align4j.core.chat.ChatMessage;

/** A parsed record of one of the {@link RecordKind}s. */
public sealed interface DataRecord {

    RecordKind kind();

    /** {@code {"text": ...}}. */
    record Text(String text) implements DataRecord {
        public RecordKind kind() {
            return RecordKind.TEXT;
        }
    }

    /** {@code {"prompt": ..., "completion": ...}}. */
    record Completion(String prompt, String completion) implements DataRecord {
        public RecordKind kind() {
            return RecordKind.COMPLETION;
        }
    }

    /** {@code {"messages": [...]}}. */
    record Chat(List<ChatMessage> messages) implements DataRecord {
        public Chat {
            messages = List.copyOf(messages);
        }

        public RecordKind kind() {
            return RecordKind.CHAT;
        }
    }

    /** A preference with an explicit prompt (implicit prompts are made explicit on reading). */
    record Preference(Content prompt, Content chosen, Content rejected, Double margin) implements DataRecord {
        public RecordKind kind() {
            return RecordKind.PREFERENCE;
        }
    }

    /** One response with a thumbs up ({@code label} true: desirable) or down, for KTO; text or messages. */
    record Unpaired(Content prompt, Content completion, boolean label) implements DataRecord {
        public RecordKind kind() {
            return RecordKind.UNPAIRED;
        }
    }

    /** Responses ranked in groups, best first; indices inside a group are tied. */
    record Ranking(String prompt, List<String> responses, List<List<Integer>> ranking) implements DataRecord {
        public Ranking {
            responses = List.copyOf(responses);
            ranking = ranking.stream().map(List::copyOf).toList();
        }

        public RecordKind kind() {
            return RecordKind.RANKING;
        }
    }
}
