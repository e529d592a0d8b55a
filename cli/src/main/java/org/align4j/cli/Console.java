package org.align4j.cli;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** Standard output as UTF-8 whatever the platform's default encoding (text and JSON may hold any script). */
final class Console {

    private Console() {
    }

    static PrintStream stdout() {
        return new PrintStream(System.out, true, StandardCharsets.UTF_8);
    }
}
