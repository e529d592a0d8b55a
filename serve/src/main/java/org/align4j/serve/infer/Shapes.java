package org.align4j.serve.infer;

import java.util.List;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.generate.Generation;
import org.align4j.core.generate.Generator;
import org.align4j.core.util.Json;
import org.align4j.serve.ModelCatalog;

/** The JSON objects of OpenAI's inference API, built from align4j's results. */
final class Shapes {

    static final String FINGERPRINT = "align4j";

    private Shapes() {
    }

    static ObjectNode model(ModelCatalog.Entry e) {
        return Json.MAPPER.createObjectNode().put("id", e.id()).put("object", "model").put("created", e.created())
                .put("owned_by", e.ownedBy());
    }

    static ObjectNode modelList(List<ModelCatalog.Entry> entries) {
        ObjectNode o = Json.MAPPER.createObjectNode().put("object", "list");
        ArrayNode data = o.putArray("data");
        entries.forEach(e -> data.add(model(e)));
        return o;
    }

    /** The head every completion object and chunk shares. */
    static ObjectNode head(String id, String object, long created, String model) {
        return Json.MAPPER.createObjectNode().put("id", id).put("object", object).put("created", created)
                .put("model", model).put("system_fingerprint", FINGERPRINT);
    }

    static ObjectNode usage(int prompt, int completion) {
        return Json.MAPPER.createObjectNode().put("prompt_tokens", prompt).put("completion_tokens", completion)
                .put("total_tokens", prompt + completion);
    }

    static int completionTokens(List<Generation> gens) {
        return gens.stream().mapToInt(g -> g.tokenIds().length).sum();
    }

    // ---------------------------------------------------------------- chat

    static ObjectNode chatCompletion(String id, long created, Run run, List<Generation> gens) {
        ObjectNode o = head(id, "chat.completion", created, run.model.id());
        ArrayNode choices = o.putArray("choices");
        for (int k = 0; k < gens.size(); k++) {
            Generation g = gens.get(k);
            ObjectNode c = choices.addObject().put("index", k);
            c.putObject("message").put("role", "assistant")
                    .put("content", Generator.completionText(g, run.cfg, run.model::decode)).putNull("refusal");
            if (run.wantLogprobs) {
                ObjectNode lp = c.putObject("logprobs");
                ArrayNode content = lp.putArray("content");
                for (int t = 0; t < g.completionTokens(); t++) {
                    content.add(tokenLogprob(run.model, g.tokenIds()[t], g.logprobs()[t], g.topLogprobs().get(t)));
                }
                lp.putNull("refusal");
            } else {
                c.putNull("logprobs");
            }
            c.put("finish_reason", g.finishReason());
        }
        o.set("usage", usage(run.promptTokens(), completionTokens(gens)));
        return o;
    }

    /** One token of chat logprobs: its text, log-probability, UTF-8 bytes and the top alternatives. */
    static ObjectNode tokenLogprob(LanguageModel m, int id, double logprob, List<Generation.TokenLogprob> top) {
        ObjectNode o = alternative(m, id, logprob);
        ArrayNode alts = o.putArray("top_logprobs");
        for (Generation.TokenLogprob t : top) {
            alts.add(alternative(m, t.id(), t.logprob()));
        }
        return o;
    }

    private static ObjectNode alternative(LanguageModel m, int id, double logprob) {
        ObjectNode o = Json.MAPPER.createObjectNode().put("token", m.decode(new int[] {id})).put("logprob", logprob);
        ArrayNode bytes = o.putArray("bytes");
        for (byte b : m.tokenizer().decodeBytes(new int[] {id})) {
            bytes.add(b & 0xff);
        }
        return o;
    }

    static ObjectNode chatChunk(String id, long created, Run run, int index, ObjectNode delta, ObjectNode tokenLogprob,
                                String finish, boolean includeUsage) {
        ObjectNode o = head(id, "chat.completion.chunk", created, run.model.id());
        ObjectNode c = o.putArray("choices").addObject().put("index", index);
        c.set("delta", delta);
        if (tokenLogprob != null) {
            ObjectNode lp = c.putObject("logprobs");
            lp.putArray("content").add(tokenLogprob);
            lp.putNull("refusal");
        } else {
            c.putNull("logprobs");
        }
        c.put("finish_reason", finish);
        if (includeUsage) {
            o.putNull("usage");
        }
        return o;
    }

    static ObjectNode usageChunk(String id, String object, long created, Run run, List<Generation> gens) {
        ObjectNode o = head(id, object, created, run.model.id());
        o.putArray("choices");
        o.set("usage", usage(run.promptTokens(), completionTokens(gens)));
        return o;
    }

    // ---------------------------------------------------------------- text completions

    static ObjectNode textCompletion(String id, long created, Run run, List<Generation> gens) {
        ObjectNode o = head(id, "text_completion", created, run.model.id());
        ArrayNode choices = o.putArray("choices");
        for (int k = 0; k < gens.size(); k++) {
            Generation g = gens.get(k);
            ObjectNode c = choices.addObject().put("text", Generator.completionText(g, run.cfg, run.model::decode))
                    .put("index", k);
            if (run.wantLogprobs) {
                c.set("logprobs", legacyLogprobs(run.model, g, run.model.decode(g.promptIds()).length()));
            } else {
                c.putNull("logprobs");
            }
            c.put("finish_reason", g.finishReason());
        }
        o.set("usage", usage(run.promptTokens(), completionTokens(gens)));
        return o;
    }

    /** The legacy completions shape: parallel lists of tokens, log-probabilities, top maps and offsets. */
    static ObjectNode legacyLogprobs(LanguageModel m, Generation g, int offset) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        ArrayNode tokens = o.putArray("tokens");
        ArrayNode logprobs = o.putArray("token_logprobs");
        ArrayNode top = o.putArray("top_logprobs");
        ArrayNode offsets = o.putArray("text_offset");
        int at = offset;
        for (int t = 0; t < g.completionTokens(); t++) {
            String text = m.decode(new int[] {g.tokenIds()[t]});
            tokens.add(text);
            logprobs.add(g.logprobs()[t]);
            ObjectNode alts = top.addObject();
            for (Generation.TokenLogprob a : g.topLogprobs().get(t)) {
                alts.put(m.decode(new int[] {a.id()}), a.logprob());
            }
            offsets.add(at);
            at += text.length();
        }
        return o;
    }

    static ObjectNode textChunk(String id, long created, Run run, int index, String text, ObjectNode logprobs,
                                String finish, boolean includeUsage) {
        ObjectNode o = head(id, "text_completion", created, run.model.id());
        ObjectNode c = o.putArray("choices").addObject().put("text", text).put("index", index);
        if (logprobs != null) {
            c.set("logprobs", logprobs);
        } else {
            c.putNull("logprobs");
        }
        c.put("finish_reason", finish);
        if (includeUsage) {
            o.putNull("usage");
        }
        return o;
    }
}
