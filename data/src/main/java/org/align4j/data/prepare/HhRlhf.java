package org.align4j.data.prepare;

import org.align4j.core.util.UserInputException;
import org.align4j.data.format.Content;
import org.align4j.data.format.DataRecord;

/**
 * Anthropic HH-RLHF transcripts ({@code "\n\nHuman: ...\n\nAssistant: ..."} in both chosen and
 * rejected) to explicit-prompt preferences: the prompt is the shared transcript up to and
 * including the last {@code "\n\nAssistant:"}, so a response that happens to start like the
 * other is not cut.
 */
public final class HhRlhf {

    static final String ASSISTANT = "\n\nAssistant:";

    private HhRlhf() {
    }

    /** The explicit form, or an IllegalArgumentException saying why the transcripts do not fit. */
    public static DataRecord.Preference toExplicit(String chosen, String rejected) {
        int cut = chosen.lastIndexOf(ASSISTANT);
        if (cut < 0) {
            throw new UserInputException("'chosen' has no \"\\n\\nAssistant:\" turn");
        }
        String prompt = chosen.substring(0, cut + ASSISTANT.length());
        if (!rejected.startsWith(prompt)) {
            throw new UserInputException("'chosen' and 'rejected' differ before the last Assistant turn");
        }
        String c = chosen.substring(prompt.length());
        String r = rejected.substring(prompt.length());
        if (c.equals(r)) {
            throw new UserInputException("'chosen' and 'rejected' are the same");
        }
        return new DataRecord.Preference(new Content.Text(prompt), new Content.Text(c), new Content.Text(r), null);
    }
}
