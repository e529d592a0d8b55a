package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;

/** What {@code align4j serve} tells a person: where the API and the web pages answer, where its state lives. */
class ServeCommandTest {

    @Test
    void helpNamesTheWebPagesAndTheDataDirectory() {
        String[] r = CliTest.run("", "serve", "--help");
        assertEquals("0", r[0], r[2]);
        String help = r[1].replaceAll("\\s+", " ");
        assertTrue(help.contains("web pages at http://HOST:PORT/"), help);
        assertTrue(help.contains("in a browser: http://127.0.0.1:8000/"), help);
        assertTrue(help.contains("--data-dir=<dataDir> uploaded files, job runs and the jobs database (default:"
                + " align4j-data)"), help);
    }

    @Test
    void startupMessageGivesTheApiThePagesAndTheDataDirectory() {
        String m = ServeCommand.startupMessage("127.0.0.1", 8123, Path.of("state"), false);
        assertEquals("align4j serve: OpenAI's API at http://127.0.0.1:8123/v1 (no API key: loopback only)\n"
                + "align4j serve: web pages at http://127.0.0.1:8123/ (jobs, playground, labeling, runs)\n"
                + "align4j serve: data directory " + Path.of("state").toAbsolutePath().normalize() + "\n", m);
        assertTrue(ServeCommand.startupMessage("::1", 80, Path.of("/srv/a"), true)
                .contains("web pages at http://[::1]:80/ "), "an IPv6 address in brackets");
    }
}
