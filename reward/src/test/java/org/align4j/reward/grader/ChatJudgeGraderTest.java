package org.align4j.reward.grader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedDeque;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import org.align4j.core.util.Json;
import org.align4j.core.util.UserInputException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * score_model with a chat model as judge. The endpoint here is a scripted stand-in for a remote
 * judge (the request it receives is checked field by field, its replies are fixed); the grader
 * against align4j's own server is tested in the serve module.
 */
class ChatJudgeGraderTest {

    private HttpServer judge;
    private final ConcurrentLinkedDeque<JsonNode> requests = new ConcurrentLinkedDeque<>();
    private final List<String> authorizations = new ArrayList<>();
    private volatile int status = 200;
    private volatile String reply = "Score: 7 out of 10";

    @BeforeEach
    void start() throws IOException {
        judge = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        judge.createContext("/v1/chat/completions", ex -> {
            requests.add(Json.MAPPER.readTree(ex.getRequestBody()));
            synchronized (authorizations) {
                authorizations.add(ex.getRequestHeaders().getFirst("Authorization"));
            }
            String body = status == 200
                    ? Json.MAPPER.createObjectNode().set("choices", Json.MAPPER.createArrayNode().add(
                    Json.MAPPER.createObjectNode().set("message", Json.MAPPER.createObjectNode()
                            .put("role", "assistant").put("content", reply)))).toString()
                    : "{\"error\": {\"message\": \"The model 'judge' does not exist\"}}";
            byte[] b = body.getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(status, b.length);
            try (OutputStream o = ex.getResponseBody()) {
                o.write(b);
            }
        });
        judge.start();
    }

    @AfterEach
    void stop() {
        judge.stop(0);
    }

    private String url() {
        return "http://127.0.0.1:" + judge.getAddress().getPort() + "/v1";
    }

    private Grader parse(String extra) throws IOException {
        String json = "{\"type\": \"score_model\", \"name\": \"judge\", \"model\": \"judge-model\", \"base_url\": \""
                + url() + "\", \"input\": [{\"role\": \"system\", \"content\": \"Rate from 0 to 10.\"},"
                + " {\"role\": \"user\", \"content\": \"Q: {{item.question}} A: {{sample.output_text}}\"}]" + extra + "}";
        return GraderParser.parse(Json.MAPPER.readTree(json), "grader.json", null);
    }

    private static GraderInput sample(String answer) {
        return new GraderInput(Json.MAPPER.createObjectNode().put("question", "2+2?"), answer, -1);
    }

    @Test
    void sendsTheRenderedMessagesAndReadsTheFirstNumberClippedToTheRange() throws Exception {
        Grader g = parse(", \"range\": [0, 10], \"sampling_params\": {\"temperature\": 0.5, \"seed\": 3,"
                + " \"max_completions_tokens\": 16}");
        assertInstanceOf(ChatJudgeGrader.class, g);
        assertEquals(7.0, g.grade(sample("4")));
        JsonNode req = requests.getLast();
        assertEquals("judge-model", req.get("model").asText());
        assertEquals("system", req.at("/messages/0/role").asText());
        assertEquals("Rate from 0 to 10.", req.at("/messages/0/content").asText());
        assertEquals("Q: 2+2? A: 4", req.at("/messages/1/content").asText());
        assertEquals(0.5, req.get("temperature").asDouble());
        assertEquals(3, req.get("seed").asInt());
        assertEquals(16, req.get("max_completion_tokens").asInt());

        reply = "I would say 12.5, it is great";
        assertEquals(10.0, g.grade(sample("4")));
        reply = "-3";
        assertEquals(0.0, g.grade(sample("4")));
        reply = "0.25";
        assertEquals(0.25, g.grade(sample("4")));
    }

    @Test
    void withoutARangeTheScoreIsClippedToZeroToOneAndTemperatureIsZero() throws Exception {
        Grader g = parse("");
        reply = "0.8";
        assertEquals(0.8, g.grade(sample("4")), 1e-12);
        assertEquals(0.0, requests.getLast().get("temperature").asDouble());
        reply = "5";
        assertEquals(1.0, g.grade(sample("4")));
    }

    @Test
    void aReplyWithoutANumberOrAnHttpErrorIsAGradingErrorThroughTheRunner() throws Exception {
        Grader g = parse("");
        reply = "excellent";
        GraderException e = assertThrows(GraderException.class, () -> g.grade(sample("4")));
        assertTrue(e.getMessage().contains("holds no number: 'excellent'"), e.getMessage());
        status = 404;
        e = assertThrows(GraderException.class, () -> g.grade(sample("4")));
        assertTrue(e.getMessage().contains("HTTP 404: The model 'judge' does not exist"), e.getMessage());
        judge.stop(0);
        e = assertThrows(GraderException.class, () -> g.grade(sample("4")));
        assertTrue(e.getMessage().contains("unreachable"), e.getMessage());
    }

    @Test
    void mistakesAreNamedByTheirJsonPath() {
        UserInputException e = assertThrows(UserInputException.class, () -> GraderParser.parse(Json.MAPPER.readTree(
                "{\"type\": \"score_model\", \"name\": \"j\", \"model\": \"m\", \"base_url\": \"ftp://x\","
                        + " \"input\": [{\"role\": \"user\", \"content\": \"{{sample.output_text}}\"}]}"), "g.json", null));
        assertTrue(e.getMessage().startsWith("g.json: $.base_url: must be an http(s) URL"), e.getMessage());
        e = assertThrows(UserInputException.class, () -> parse(", \"sampling_params\": {\"reasoning_effort\": \"low\"}"));
        assertTrue(e.getMessage().contains("$.sampling_params.reasoning_effort: unknown key"), e.getMessage());
        e = assertThrows(UserInputException.class, () -> parse(", \"api_key_env\": \"ALIGN4J_NO_SUCH_VARIABLE_SET\""));
        assertTrue(e.getMessage().contains("$.api_key_env: the environment variable ALIGN4J_NO_SUCH_VARIABLE_SET is"
                + " not set"), e.getMessage());
        e = assertThrows(UserInputException.class, () -> GraderParser.parse(Json.MAPPER.readTree(
                "{\"type\": \"score_model\", \"name\": \"j\", \"model\": \"m\", \"base_url\": \"http://127.0.0.1:1/v1\"}"),
                "g.json", null));
        assertTrue(e.getMessage().startsWith("g.json: $: missing 'input'"), e.getMessage());
    }

    @Test
    void callsOutSoASparkRunGradesOnItsDriverAndSoDoesAMultiGraderHoldingIt() throws Exception {
        Grader judge = parse("");
        assertFalse(judge.local());
        String exact = "{\"type\": \"string_check\", \"name\": \"exact\", \"input\": \"{{sample.output_text}}\","
                + " \"reference\": \"4\", \"operation\": \"eq\"}";
        Grader local = GraderParser.parse(Json.MAPPER.readTree("{\"type\": \"multi\", \"name\": \"m\","
                + " \"calculate_output\": \"exact\", \"graders\": {\"exact\": " + exact + "}}"), "g.json", null);
        assertTrue(local.local());
        Grader both = GraderParser.parse(Json.MAPPER.readTree("{\"type\": \"multi\", \"name\": \"m\","
                + " \"calculate_output\": \"exact + judge\", \"graders\": {\"exact\": " + exact + ", \"judge\": "
                + judgeJson() + "}}"), "g.json", null);
        assertFalse(both.local());
        assertEquals(8.0, both.grade(sample("4"))); // it still grades: 1 + the judge's 7
    }

    private String judgeJson() {
        return "{\"type\": \"score_model\", \"name\": \"judge\", \"model\": \"judge-model\", \"base_url\": \""
                + url() + "\", \"range\": [0, 10], \"input\": [{\"role\": \"user\", \"content\": \"A: {{sample.output_text}}\"}]}";
    }
}
