package org.align4j.data.format;

import java.util.List;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.chat.ChatMessage;

/** Records back to JSON objects in their canonical form (the inverse of {@link RecordParser}). */
public final class RecordJson {

    private static final ObjectMapper JSON = new ObjectMapper();

    private RecordJson() {
    }

    public static ObjectNode toJson(DataRecord r) {
        ObjectNode o = JSON.createObjectNode();
        if (r instanceof DataRecord.Text t) {
            o.put("text", t.text());
        } else if (r instanceof DataRecord.Completion c) {
            o.put("prompt", c.prompt()).put("completion", c.completion());
        } else if (r instanceof DataRecord.Chat c) {
            o.set("messages", messages(c.messages()));
        } else if (r instanceof DataRecord.Preference p) {
            put(o, "prompt", p.prompt());
            put(o, "chosen", p.chosen());
            put(o, "rejected", p.rejected());
            if (p.margin() != null) {
                o.put("margin", p.margin());
            }
        } else if (r instanceof DataRecord.Unpaired u) {
            put(o, "prompt", u.prompt());
            put(o, "completion", u.completion());
            o.put("label", u.label());
        } else if (r instanceof DataRecord.Ranking k) {
            o.put("prompt", k.prompt());
            ArrayNode rs = o.putArray("responses");
            k.responses().forEach(rs::add);
            ArrayNode rk = o.putArray("ranking");
            for (List<Integer> g : k.ranking()) {
                ArrayNode a = rk.addArray();
                g.forEach(a::add);
            }
        }
        return o;
    }

    private static void put(ObjectNode o, String field, Content c) {
        if (c instanceof Content.Text t) {
            o.put(field, t.text());
        } else if (c instanceof Content.Messages m) {
            o.set(field, messages(m.messages()));
        }
    }

    public static ArrayNode messages(List<ChatMessage> messages) {
        ArrayNode a = JSON.createArrayNode();
        for (ChatMessage m : messages) {
            ObjectNode n = a.addObject().put("role", m.role()).put("content", m.content());
            if (m.name() != null) {
                n.put("name", m.name());
            }
        }
        return a;
    }
}
