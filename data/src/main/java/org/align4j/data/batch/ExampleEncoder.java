package org.align4j.data.batch;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.align4j.core.chat.ChatMessage;
import org.align4j.core.chat.ChatTemplate;
import org.align4j.core.tokenizer.BpeTokenizer;
import org.align4j.core.tokenizer.SpecialTokens;
import org.align4j.core.tokenizer.TokenizerConfig;
import org.align4j.core.tokenizer.TokenizerFiles;
import org.align4j.core.util.UserInputException;
import org.align4j.data.format.Content;
import org.align4j.data.format.DataRecord;

/**
 * Records to token sequences with their loss masks. Text is user data: special-token strings in
 * it are encoded as ordinary text. Text and completions end with the end-of-sequence token,
 * which is trained (the model learns to stop).
 */
public final class ExampleEncoder {

    private final BpeTokenizer tokenizer;
    private final ChatTemplate template;
    private final int eos;
    /** Prepended to plain text (tokenizer_config.json's add_bos_token), or -1. */
    private final int bos;

    public ExampleEncoder(BpeTokenizer tokenizer, ChatTemplate template, int eosTokenId) {
        this(tokenizer, template, eosTokenId, -1);
    }

    /** With {@code bosTokenId} at least 0, every plain text (a text record, a prompt) starts with it. */
    public ExampleEncoder(BpeTokenizer tokenizer, ChatTemplate template, int eosTokenId, int bosTokenId) {
        this.tokenizer = tokenizer;
        this.template = template;
        this.eos = eosTokenId;
        this.bos = bosTokenId;
    }

    /**
     * The encoder of a model directory: its tokenizer files; its chat template (its own, or its
     * tokenizer_config.json's when align4j renders that one exactly, else ChatML); as end of
     * sequence tokenizer_config.json's {@code eos_token}, else {@code <|endoftext|>}, else the
     * config's id; and {@code bos_token} first where {@code add_bos_token} is true.
     */
    public static ExampleEncoder forModel(Path modelDir, int configEos) throws IOException {
        if (!TokenizerFiles.exists(modelDir)) {
            throw new IOException(modelDir + ": no tokenizer files (tokenizer.json, or vocab.json + merges.txt)");
        }
        BpeTokenizer tok = TokenizerFiles.load(modelDir);
        TokenizerConfig tc = TokenizerConfig.read(modelDir);
        int eos = tc.eosId(tok).orElse(SpecialTokens.endOfSequence(tok, configEos));
        int bos = tc.addBosToken() ? tc.bosId(tok).orElse(-1) : -1;
        return new ExampleEncoder(tok, ChatTemplate.forModel(modelDir), eos, bos);
    }

    /** Tokens of plain text, after the begin-of-sequence token where the tokenizer adds one. */
    private int[] textIds(String text) {
        int[] ids = tokenizer.encode(text);
        if (bos < 0) {
            return ids;
        }
        int[] out = new int[ids.length + 1];
        out[0] = bos;
        System.arraycopy(ids, 0, out, 1, ids.length);
        return out;
    }

    public BpeTokenizer tokenizer() {
        return tokenizer;
    }

    public ChatTemplate template() {
        return template;
    }

    public int eosTokenId() {
        return eos;
    }

    /** The training example of a text, prompt-completion or chat record. */
    public Example encode(DataRecord r) {
        if (r instanceof DataRecord.Text t) {
            int[] ids = append(textIds(t.text()), eos);
            boolean[] trained = new boolean[ids.length];
            java.util.Arrays.fill(trained, true);
            return new Example(ids, trained);
        }
        if (r instanceof DataRecord.Completion c) {
            return promptAndCompletion(textIds(c.prompt()), append(tokenizer.encode(c.completion()), eos));
        }
        if (r instanceof DataRecord.Chat c) {
            ChatTemplate.Rendered rendered = template.render(c.messages(), tokenizer, false);
            return new Example(rendered.ids(), rendered.assistant());
        }
        throw new UserInputException(r.kind().id() + " records are not supervised fine-tuning examples");
    }

    /** Prompt tokens (untrained) followed by completion tokens (trained). */
    public static Example promptAndCompletion(int[] prompt, int[] completion) {
        int[] ids = new int[prompt.length + completion.length];
        System.arraycopy(prompt, 0, ids, 0, prompt.length);
        System.arraycopy(completion, 0, ids, prompt.length, completion.length);
        boolean[] trained = new boolean[ids.length];
        java.util.Arrays.fill(trained, prompt.length, ids.length, true);
        return new Example(ids, trained);
    }

    /** Tokens of a prompt, ready for generation (chat prompts end with the generation prompt). */
    public int[] promptIds(Content prompt) {
        if (prompt instanceof Content.Text t) {
            return textIds(t.text());
        }
        return template.render(((Content.Messages) prompt).messages(), tokenizer, true).ids();
    }

    /** Tokens of a response to a prompt, ending with the end-of-sequence (or end-of-turn) token. */
    public int[] responseIds(Content response) {
        if (response instanceof Content.Text t) {
            return append(tokenizer.encode(t.text()), eos);
        }
        List<Integer> ids = new ArrayList<>();
        List<ChatMessage> msgs = ((Content.Messages) response).messages();
        for (int i = 0; i < msgs.size(); i++) {
            ChatMessage m = msgs.get(i);
            ChatTemplate.Marker marker = template.roles().get(m.role());
            // the first reply follows the generation prompt, which already opened the turn
            if (i > 0) {
                for (int id : tokenizer.encode(marker.prefix(), true)) {
                    ids.add(id);
                }
            }
            for (int id : tokenizer.encode(template.content(m))) {
                ids.add(id);
            }
            for (int id : tokenizer.encode(marker.suffix(), true)) {
                ids.add(id);
            }
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * The tokens a reward model scores for a response to a prompt: the prompt, then the response
     * as it is trained, less the end-of-sequence token a text response ends with (the score is
     * read at the last token of the response itself; chat responses keep their end-of-turn marker).
     */
    public int[] scoredSequence(Content prompt, Content response) {
        int[] p = promptIds(prompt);
        int[] r = responseIds(response);
        int n = response instanceof Content.Text && r.length > 0 && r[r.length - 1] == eos ? r.length - 1 : r.length;
        int[] out = java.util.Arrays.copyOf(p, p.length + n);
        System.arraycopy(r, 0, out, p.length, n);
        return out;
    }

    /**
     * The tokens a reward model scores for a text (exactly its tokens, nothing added), a
     * prompt-completion pair or an unpaired (KTO) record (as {@link #scoredSequence(Content, Content)}),
     * or a whole chat.
     */
    public int[] scoredSequence(DataRecord r) {
        if (r instanceof DataRecord.Text t) {
            return textIds(t.text());
        }
        if (r instanceof DataRecord.Completion c) {
            return scoredSequence(new Content.Text(c.prompt()), new Content.Text(c.completion()));
        }
        if (r instanceof DataRecord.Chat c) {
            return template.render(c.messages(), tokenizer, false).ids();
        }
        if (r instanceof DataRecord.Unpaired u) {
            return scoredSequence(u.prompt(), u.completion());
        }
        throw new UserInputException(r.kind().id() + " records hold several responses; score each one");
    }

    /** Length in tokens of the longest sequence a record produces (for statistics). */
    public int length(DataRecord r) {
        if (r instanceof DataRecord.Preference p) {
            int prompt = promptIds(p.prompt()).length;
            return prompt + Math.max(responseIds(p.chosen()).length, responseIds(p.rejected()).length);
        }
        if (r instanceof DataRecord.Unpaired u) {
            return promptIds(u.prompt()).length + responseIds(u.completion()).length;
        }
        if (r instanceof DataRecord.Ranking k) {
            int prompt = textIds(k.prompt()).length;
            int longest = 0;
            for (String s : k.responses()) {
                longest = Math.max(longest, tokenizer.encode(s).length + 1);
            }
            return prompt + longest;
        }
        return encode(r).length();
    }

    private static int[] append(int[] a, int v) {
        int[] out = java.util.Arrays.copyOf(a, a.length + 1);
        out[a.length] = v;
        return out;
    }
}
