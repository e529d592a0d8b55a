package org.align4j.serve.infer;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.util.Json;
import org.align4j.core.util.UserInputException;

/**
 * A load generator for a running {@code align4j serve} (or any OpenAI-compatible server): at each
 * concurrency, that many clients send chat completions back to back over HTTP; it reports the
 * completion tokens per second over the wall time and the request latencies' median and 95th
 * percentile. Every request decodes exactly {@code maxTokens} tokens ({@code ignore_eos}, as vLLM's
 * benchmarks do), greedy, so that the work per request is the same at every concurrency.
 */
public final class LoadGenerator {

    /** What to send. {@code baseUrl} ends in /v1. */
    public record Config(String baseUrl, String apiKey, String model, String prompt, int maxTokens,
                         int requestsPerClient) {
    }

    /** One concurrency's measurement. */
    public record Row(int clients, int requests, long completionTokens, double seconds, double tokensPerSecond,
                      double p50Seconds, double p95Seconds) {
    }

    private final Config cfg;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();

    public LoadGenerator(Config cfg) {
        this.cfg = cfg;
    }

    /** One request, to check the server and warm it (model load, JIT) before measuring. */
    public long warmUp() throws IOException, InterruptedException {
        return send(0)[0];
    }

    public Row measure(int clients) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        try {
            long start = System.nanoTime();
            List<Future<long[][]>> futures = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                int client = c;
                futures.add(pool.submit(() -> {
                    long[][] out = new long[cfg.requestsPerClient()][];
                    for (int r = 0; r < out.length; r++) {
                        out[r] = send(client * 1000 + r);
                    }
                    return out;
                }));
            }
            List<Double> latencies = new ArrayList<>();
            long tokens = 0;
            for (Future<long[][]> f : futures) {
                for (long[] r : f.get()) {
                    tokens += r[0];
                    latencies.add(r[1] / 1e9);
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            double[] sorted = latencies.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            return new Row(clients, sorted.length, tokens, seconds, tokens / seconds, percentile(sorted, 0.50),
                    percentile(sorted, 0.95));
        } finally {
            pool.shutdownNow();
        }
    }

    /** Nearest-rank percentile of sorted values. */
    static double percentile(double[] sorted, double q) {
        int rank = (int) Math.ceil(q * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    /** Sends one request; returns {completion tokens, nanoseconds}. */
    private long[] send(int n) throws IOException, InterruptedException {
        ObjectNode body = Json.MAPPER.createObjectNode().put("model", cfg.model()).put("max_tokens", cfg.maxTokens())
                .put("temperature", 0).put("ignore_eos", true);
        body.putArray("messages").addObject().put("role", "user").put("content", cfg.prompt() + " (" + n + ")");
        HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(cfg.baseUrl() + "/chat/completions"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(Json.MAPPER.writeValueAsString(body)));
        if (cfg.apiKey() != null) {
            req.header("Authorization", "Bearer " + cfg.apiKey());
        }
        long t0 = System.nanoTime();
        HttpResponse<String> res = http.send(req.build(), HttpResponse.BodyHandlers.ofString());
        long elapsed = System.nanoTime() - t0;
        if (res.statusCode() != 200) {
            throw new UserInputException(cfg.baseUrl() + " answered " + res.statusCode() + ": " + res.body());
        }
        JsonNode usage = Json.MAPPER.readTree(res.body()).path("usage");
        return new long[] {usage.path("completion_tokens").asLong(), elapsed};
    }

    /** The rows as a Markdown table. */
    public static String table(List<Row> rows) {
        StringBuilder sb = new StringBuilder("| clients | requests | completion tokens | seconds | tokens/s | speed-up"
                + " | p50 latency (s) | p95 latency (s) |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        double base = rows.isEmpty() ? 1 : rows.get(0).tokensPerSecond();
        for (Row r : rows) {
            sb.append(String.format("| %d | %d | %d | %.1f | %.1f | %.2fx | %.2f | %.2f |%n", r.clients(), r.requests(),
                    r.completionTokens(), r.seconds(), r.tokensPerSecond(), r.tokensPerSecond() / base,
                    r.p50Seconds(), r.p95Seconds()));
        }
        return sb.toString();
    }

}
