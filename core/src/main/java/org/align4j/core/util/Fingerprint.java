package org.align4j.core.util;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * What an input holds, as one SHA-256: a file's bytes, or a directory's files (each relative path
 * and its bytes, in sorted order). Stored beside the work an input fed, it tells a resumed run that
 * the input changed under it; timestamps are left out, so a copy or a touch is not a change.
 */
public final class Fingerprint {

    private Fingerprint() {
    }

    public static String of(Path path) throws IOException {
        MessageDigest sha = sha256();
        if (Files.isDirectory(path)) {
            List<Path> files;
            try (Stream<Path> s = Files.walk(path)) {
                files = s.filter(Files::isRegularFile).sorted().toList();
            }
            for (Path f : files) {
                sha.update(path.relativize(f).toString().getBytes(StandardCharsets.UTF_8));
                sha.update((byte) 0);
                digest(sha, f);
            }
        } else {
            digest(sha, path);
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private static void digest(MessageDigest sha, Path file) throws IOException {
        byte[] buf = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buf)) > 0; ) {
                sha.update(buf, 0, n);
            }
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }
}
