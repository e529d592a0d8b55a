package org.align4j.reward.grader;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.util.Json;

/**
 * OpenAI's {@code score_model} with a chat model as the judge, behind any OpenAI-compatible
 * endpoint ({@code align4j serve}, or another server): the rendered {@code input} messages are
 * sent to {@code BASE_URL/chat/completions} and the first number of the reply is the score,
 * clipped to {@code range}. A reply without a number, an HTTP error or a timeout is a grading
 * error (score 0, logged), never a crash. Safe to call from several threads: the runner bounds how
 * many requests are in flight.
 */
public record ChatJudgeGrader(String name, String model, URI baseUrl, String apiKey, List<ScoreModelGrader.Message> input,
                              double[] range, ObjectNode samplingParams, Duration timeout, HttpClient http)
        implements Grader {

    /** A number as a judge writes one: -3, 7, 0.85, 1e-2 (the first in the reply counts). */
    private static final Pattern NUMBER = Pattern.compile("[-+]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][-+]?\\d+)?");

    @Override
    public double grade(GraderInput in) throws GraderException {
        ObjectNode body = Json.MAPPER.createObjectNode();
        body.put("model", model);
        ArrayNode messages = body.putArray("messages");
        for (ScoreModelGrader.Message m : input) {
            messages.addObject().put("role", m.role()).put("content", m.content().render(in));
        }
        body.put("temperature", 0.0);
        body.setAll(samplingParams);
        String reply = send(body);
        return score(reply);
    }

    /** The first number in {@code reply}, clipped to the range; a reply without one is an error. */
    double score(String reply) throws GraderException {
        Matcher m = NUMBER.matcher(reply);
        if (!m.find()) {
            throw new GraderException("score_model '" + name + "': the judge's reply holds no number: "
                    + abbreviate(reply));
        }
        double s = Double.parseDouble(m.group());
        return Math.max(range[0], Math.min(range[1], s));
    }

    private String send(ObjectNode body) throws GraderException {
        HttpRequest.Builder req = HttpRequest.newBuilder(baseUrl.resolve(baseUrl.getPath().endsWith("/")
                        ? "chat/completions" : baseUrl.getPath() + "/chat/completions"))
                .timeout(timeout)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString()));
        if (apiKey != null) {
            req.header("Authorization", "Bearer " + apiKey);
        }
        HttpResponse<String> resp;
        try {
            resp = http.send(req.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new GraderException("score_model '" + name + "': judge at " + baseUrl + " unreachable: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GraderException("score_model '" + name + "': interrupted");
        }
        JsonNode json;
        try {
            json = Json.MAPPER.readTree(resp.body());
        } catch (IOException e) {
            throw new GraderException("score_model '" + name + "': judge answered HTTP " + resp.statusCode()
                    + " with a body that is not JSON: " + abbreviate(resp.body()));
        }
        if (resp.statusCode() != 200) {
            throw new GraderException("score_model '" + name + "': judge answered HTTP " + resp.statusCode() + ": "
                    + json.path("error").path("message").asText(abbreviate(resp.body())));
        }
        JsonNode content = json.path("choices").path(0).path("message").path("content");
        if (!content.isTextual()) {
            throw new GraderException("score_model '" + name + "': the judge's answer has no choices[0].message.content");
        }
        return content.asText();
    }

    private static String abbreviate(String s) {
        return s.length() <= 120 ? "'" + s + "'" : "'" + s.substring(0, 117) + "...'";
    }

    @Override
    public String checkItem(JsonNode item) {
        for (ScoreModelGrader.Message m : input) {
            String miss = m.content().missing(item);
            if (miss != null) {
                return miss;
            }
        }
        return null;
    }

    /** It calls the endpoint: with --spark-master the driver grades, not the executors. */
    @Override
    public boolean local() {
        return false;
    }

    @Override
    public String describe() {
        return "score_model: chat model '" + model + "' at " + baseUrl + " as judge, score in [" + range[0] + ", "
                + range[1] + "]";
    }
}
