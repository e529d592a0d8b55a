package org.align4j.serve.infer;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.data.format.Content;
import org.align4j.serve.ApiError;

/**
 * A {@code POST /v1/score} body: a reward model and the (prompt, response) pairs it scores. A prompt
 * is text ({@code prompt}) or chat messages ({@code messages}); the response is text.
 */
record ScoreRequest(String model, List<Pair> input) {

    record Pair(Content prompt, String response) {
    }

    static final int MAX_PAIRS = 2048;

    static ScoreRequest parse(JsonNode body) {
        Fields f = Fields.body(body);
        String model = f.requiredString("model");
        JsonNode arr = f.raw("input");
        if (arr == null) {
            throw ApiError.invalid("input", "Missing required parameter: 'input'.");
        }
        if (!arr.isArray() || arr.isEmpty()) {
            throw ApiError.invalid("input", "'input' must be a non-empty array of {\"prompt\" or \"messages\","
                    + " \"response\"} objects.");
        }
        if (arr.size() > MAX_PAIRS) {
            throw ApiError.invalid("input", "'input' holds at most " + MAX_PAIRS + " pairs.");
        }
        List<Pair> pairs = new ArrayList<>();
        for (int i = 0; i < arr.size(); i++) {
            String at = "input[" + i + "]";
            Fields p = Fields.object(arr.get(i), at);
            Content prompt;
            if (p.has("messages")) {
                if (p.has("prompt")) {
                    throw ApiError.invalid(at + ".prompt", "Give '" + at + ".prompt' or '" + at
                            + ".messages', not both.");
                }
                prompt = new Content.Messages(ChatRequest.messages(p, "messages"));
            } else {
                prompt = new Content.Text(p.requiredString("prompt"));
            }
            pairs.add(new Pair(prompt, p.requiredString("response")));
        }
        return new ScoreRequest(model, pairs);
    }
}
