package org.align4j.serve.files;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * An uploaded file as the database holds it. {@code status} is {@code processed} or {@code error}
 * (then {@code statusDetails} holds the data module's {@code FILE:LINE: kind: message} lines);
 * {@code extension} is align4j's own part of the file object (record kind, counts, the estimate).
 */
public record StoredFile(String id, String filename, String purpose, long bytes, long createdAt, String status,
                         String statusDetails, ObjectNode extension) {

    public static final String PROCESSED = "processed";
    public static final String ERROR = "error";

    public boolean processed() {
        return PROCESSED.equals(status);
    }

    /** Valid records in the file (0 when validation found none). */
    public long records() {
        return extension.path("valid_records").asLong();
    }

    /** The record kind the data module read, or null. */
    public String recordKind() {
        return extension.path("record_kind").asText(null);
    }
}
