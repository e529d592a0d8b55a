package org.align4j.serve.files;

import java.security.SecureRandom;
import java.util.regex.Pattern;

import org.align4j.serve.ApiError;

/**
 * Object ids as OpenAI spells them ({@code file-...}, {@code ftjob-...}, {@code ftevent-...},
 * {@code ftckpt-...}): a prefix and 24 random letters and digits. A client's id is checked against
 * this pattern before it reaches the database, and no id is ever part of a path a client chose:
 * the server makes every id itself.
 */
public final class Ids {

    public static final String FILE = "file";
    public static final String JOB = "ftjob";
    public static final String EVENT = "ftevent";
    public static final String CHECKPOINT = "ftckpt";

    private static final String ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    private static final int LENGTH = 24;
    private static final Pattern SHAPE = Pattern.compile("[A-Za-z0-9]{" + LENGTH + "}");
    private static final SecureRandom RANDOM = new SecureRandom();

    private Ids() {
    }

    public static String next(String prefix) {
        StringBuilder b = new StringBuilder(prefix).append('-');
        for (int i = 0; i < LENGTH; i++) {
            b.append(ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length())));
        }
        return b.toString();
    }

    public static boolean valid(String prefix, String id) {
        return id != null && id.startsWith(prefix + "-") && SHAPE.matcher(id.substring(prefix.length() + 1)).matches();
    }

    /** {@code id} when it has the shape of a {@code prefix} id; otherwise the 404 OpenAI gives for an unknown one. */
    public static String require(String prefix, String id, String param, String what) {
        if (!valid(prefix, id)) {
            throw ApiError.notFound(param, "No such " + what + ": '" + id + "'");
        }
        return id;
    }
}
