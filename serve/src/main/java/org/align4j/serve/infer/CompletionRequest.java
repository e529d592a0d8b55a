package org.align4j.serve.infer;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.serve.ApiError;

/**
 * A {@code POST /v1/completions} body. {@code prompts} are texts or token ids (OpenAI's four forms:
 * a string, a list of strings, a list of ids, a list of id lists); {@code logprobs} null is off.
 */
record CompletionRequest(String model, List<Prompt> prompts, Decoding decoding) {

    /** One prompt: text, or token ids when {@code text} is null. */
    record Prompt(String text, int[] ids) {
    }

    /** OpenAI's default {@code max_tokens} for text completions. */
    static final int DEFAULT_MAX_TOKENS = 16;

    static final Set<String> UNSUPPORTED = Set.of("suffix");

    static CompletionRequest parse(JsonNode body) {
        Fields f = Fields.body(body);
        String model = f.requiredString("model");
        f.refuse(UNSUPPORTED);
        if (f.bool("echo", false)) {
            throw ApiError.invalid("echo", "'echo' is not supported by align4j serve; the prompt is not repeated.");
        }
        Long bestOf = f.integer("best_of", 1, 128);
        if (bestOf != null && bestOf != 1) {
            throw ApiError.invalid("best_of", "'best_of' other than 1 is not supported by align4j serve; use 'n'.");
        }
        List<Prompt> prompts = prompts(f);
        Long max = f.integer("max_tokens", 1, Integer.MAX_VALUE);
        Decoding d = Decoding.parse(f, max == null ? DEFAULT_MAX_TOKENS : max.intValue());
        Long logprobs = f.integer("logprobs", 0, 5);
        return new CompletionRequest(model, prompts,
                d.withLogprobs(logprobs != null, logprobs == null ? 0 : logprobs.intValue()));
    }

    private static List<Prompt> prompts(Fields f) {
        JsonNode p = f.raw("prompt");
        if (p == null) {
            throw ApiError.invalid("prompt", "Missing required parameter: 'prompt'.");
        }
        if (p.isTextual()) {
            return List.of(new Prompt(p.asText(), null));
        }
        if (!p.isArray() || p.isEmpty()) {
            throw ApiError.invalid("prompt", "Invalid 'prompt': expected a string, an array of strings, an array of"
                    + " token ids or an array of token-id arrays.");
        }
        List<Prompt> out = new ArrayList<>();
        if (p.get(0).isIntegralNumber()) {
            out.add(new Prompt(null, ids(p, "prompt")));
            return out;
        }
        for (int i = 0; i < p.size(); i++) {
            JsonNode x = p.get(i);
            String at = "prompt[" + i + "]";
            if (x.isTextual()) {
                out.add(new Prompt(x.asText(), null));
            } else if (x.isArray() && !x.isEmpty()) {
                out.add(new Prompt(null, ids(x, at)));
            } else {
                throw ApiError.invalid(at, "Invalid '" + at + "': expected a string or an array of token ids.");
            }
        }
        return out;
    }

    private static int[] ids(JsonNode arr, String at) {
        int[] ids = new int[arr.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode t = arr.get(i);
            if (!t.isIntegralNumber() || !t.canConvertToInt()) {
                throw ApiError.invalid(at + "[" + i + "]", "Invalid '" + at + "[" + i + "]': expected a token id.");
            }
            ids[i] = t.asInt();
        }
        return ids;
    }
}
