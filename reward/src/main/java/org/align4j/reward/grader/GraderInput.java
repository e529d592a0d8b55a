package org.align4j.reward.grader;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One sample to grade: the prompt record's fields ({@code {{item.FIELD}}}), the response text
 * ({@code {{sample.output_text}}}) and its token count, or -1 where no tokenizer counted it.
 */
public record GraderInput(JsonNode item, String outputText, int tokens) {
}
