package org.align4j.reward.grader;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.chat.ChatMessage;
import org.align4j.data.format.Content;
import org.align4j.reward.RewardScorer;

/**
 * OpenAI's {@code score_model} with a local reward-model directory as the judge: the raw score of
 * the prompt and response as {@code ppo --reward-model} scores them (the same {@link RewardScorer}),
 * clipped to {@code range} where one is given. The prompt is the item's {@code prompt} or
 * {@code messages}, or, with {@code input}, the rendered messages before the last, which is the
 * assistant's reply that is scored. One reward model runs one sample at a time.
 */
public record ScoreModelGrader(String name, String model, RewardScorer scorer, List<Message> input, double[] range)
        implements Grader {

    /** One templated message of {@code input}. */
    public record Message(String role, Template content) {
    }

    @Override
    public double grade(GraderInput in) throws GraderException {
        Content prompt;
        String response;
        if (input == null) {
            prompt = promptOf(in.item());
            if (prompt == null) {
                throw new GraderException("score_model '" + name + "': the item has no 'prompt' or 'messages'");
            }
            response = in.outputText();
        } else {
            List<ChatMessage> msgs = new ArrayList<>();
            for (int i = 0; i < input.size() - 1; i++) {
                msgs.add(new ChatMessage(input.get(i).role(), input.get(i).content().render(in)));
            }
            prompt = new Content.Messages(msgs);
            response = input.get(input.size() - 1).content().render(in);
        }
        double s;
        synchronized (scorer) {
            s = scorer.score(List.of(scorer.encoder().scoredSequence(prompt, new Content.Text(response))), 1)[0];
        }
        return range == null ? s : Math.max(range[0], Math.min(range[1], s));
    }

    /** The prompt of a prompt record: its text 'prompt' or its 'messages', or null. */
    static Content promptOf(JsonNode item) {
        if (item.path("prompt").isTextual()) {
            return new Content.Text(item.get("prompt").asText());
        }
        JsonNode m = item.path("messages");
        if (m.isArray() && !m.isEmpty()) {
            List<ChatMessage> msgs = new ArrayList<>();
            for (JsonNode x : m) {
                if (x.path("role").asText("").equals("assistant") && msgs.size() == m.size() - 1) {
                    break; // a chat's final reply is not part of the prompt
                }
                msgs.add(new ChatMessage(x.path("role").asText(null), x.path("content").asText(null)));
            }
            return new Content.Messages(msgs);
        }
        return null;
    }

    @Override
    public String checkItem(JsonNode item) {
        if (input == null) {
            if (!item.path("prompt").isTextual() && !(item.path("messages").isArray() && !item.get("messages").isEmpty())) {
                return "'prompt' or 'messages' (score_model '" + name + "' without 'input' scores the item's prompt)";
            }
            return null;
        }
        for (Message m : input) {
            String miss = m.content().missing(item);
            if (miss != null) {
                return miss;
            }
        }
        return null;
    }

    @Override
    public boolean concurrent() {
        return false;
    }

    @Override
    public String describe() {
        return "score_model: reward model " + model + (range == null ? "" : ", clipped to [" + range[0] + ", "
                + range[1] + "]");
    }
}
