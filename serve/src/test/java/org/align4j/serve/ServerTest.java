package org.align4j.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import org.align4j.core.util.Json;
import org.align4j.core.util.UserInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What every route shares: keys, the error shape, the loopback rule. */
class ServerTest {

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newHttpClient();

    private HttpResponse<String> get(int port, String path, String key) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void keysAreCheckedAndErrorsHaveOpenAisShape() throws Exception {
        ServeConfig cfg = new ServeConfig(List.of(), "127.0.0.1", 0, dir, "sk-test", 1 << 20, 1 << 20);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        try (Server s = ServeApp.create(cfg, new PrintStream(log)).start()) {
            HttpResponse<String> none = get(s.port(), "/v1/models", null);
            assertEquals(401, none.statusCode());
            JsonNode err = Json.MAPPER.readTree(none.body()).get("error");
            assertEquals("invalid_api_key", err.get("code").asText());
            assertTrue(err.has("param") && err.has("type") && err.has("message"));
            assertEquals(401, get(s.port(), "/v1/models", "sk-wrong").statusCode());
            assertEquals(401, get(s.port(), "/v1/models", "sk-tes").statusCode());

            HttpResponse<String> unknown = get(s.port(), "/v1/no-such-route", "sk-test");
            assertEquals(404, unknown.statusCode());
            assertEquals("not_found", Json.MAPPER.readTree(unknown.body()).at("/error/code").asText());
            assertEquals(200, get(s.port(), "/health", null).statusCode());
        }
    }

    @Test
    void withoutAKeyOnlyLoopback() {
        ServeConfig open = new ServeConfig(List.of(), "0.0.0.0", 0, dir, null, 1 << 20, 1 << 20);
        UserInputException e = assertThrows(UserInputException.class, () -> ServeApp.create(open, System.err));
        assertTrue(e.getMessage().contains("--host 0.0.0.0"), e.getMessage());
        ServeConfig keyed = new ServeConfig(List.of(), "0.0.0.0", 0, dir, "k", 1 << 20, 1 << 20);
        ServeApp.create(keyed, System.err).close();
    }

    @Test
    void keyComparisonIsExact() {
        assertTrue(Server.keyMatches("abc", "abc"));
        assertFalse(Server.keyMatches("abd", "abc"));
        assertFalse(Server.keyMatches("", "abc"));
        assertFalse(Server.keyMatches("abcd", "abc"));
    }
}
