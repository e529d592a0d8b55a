package org.align4j.serve.infer;

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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.chat.completions.ChatCompletionTokenLogprob;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.models.Model;

import org.align4j.core.backend.Backend;
import org.align4j.core.chat.ChatMessage;
import org.align4j.core.chat.ChatTemplate;
import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.generate.Generation;
import org.align4j.core.generate.Generator;
import org.align4j.core.generate.SamplingConfig;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.model.TokenBatch;
import org.align4j.core.tokenizer.BpeTokenizer;
import org.align4j.core.tokenizer.SpecialTokens;
import org.align4j.core.tokenizer.TokenizerFiles;
import org.align4j.core.util.Json;
import org.align4j.data.batch.ExampleEncoder;
import org.align4j.data.format.Content;
import org.align4j.serve.ModelCatalog;
import org.align4j.serve.ServeApp;
import org.align4j.serve.ServeConfig;
import org.align4j.serve.Server;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The inference API driven by OpenAI's own Java SDK against {@code align4j serve} on port 0, serving
 * examples/base-model. Oracles: {@link Generator} as {@code align4j generate} runs it (greedy tokens,
 * log-probabilities), the same requests sent one at a time (concurrency), a reward computed from the
 * model's hidden state (score), and OpenAI's documented error shapes and statuses.
 */
class OpenAiSdkInferenceTest {

    static final Path BASE = Path.of("../examples/base-model").toAbsolutePath().normalize();
    static final String KEY = "sk-test-key";
    static final String FT = "ft:base-model:demo:ftjob-abc123";

    @TempDir
    static Path tmp;

    static Server server;
    static InferenceRoutes routes;
    static OpenAIClient client;
    static final ByteArrayOutputStream LOG = new ByteArrayOutputStream();
    static Path rewardDir;

    @BeforeAll
    static void start() throws Exception {
        rewardDir = rewardModel(tmp.resolve("rm"));
        ModelCatalog catalog = new ModelCatalog();
        catalog.register("base-model", BASE, "align4j", 1_700_000_000L);
        catalog.register(FT, BASE, "user", 1_700_000_001L);
        catalog.register("rm", rewardDir, "align4j", 1_700_000_002L);
        ServeConfig cfg = new ServeConfig(List.of(), "127.0.0.1", 0, tmp.resolve("data"), KEY, 1 << 20, 1 << 20);
        PrintStream log = new PrintStream(LOG, true);
        routes = new InferenceRoutes(catalog, log);
        server = new Server(cfg, List.of(routes), log).start();
        client = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + server.port() + "/v1").apiKey(KEY)
                .maxRetries(0).build();
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    /** examples/base-model with a random score head: a reward model on the same tokenizer. */
    static Path rewardModel(Path dir) throws Exception {
        DecoderModel m = ModelDirectory.load(BASE, Backend.get().kernels(), DataType.FLOAT, true);
        INDArray w = m.parameters().get(DecoderModel.SCORE_HEAD);
        SplittableRandom r = new SplittableRandom(5);
        float[] v = new float[(int) w.length()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (r.nextGaussian() * 0.1);
        }
        w.assign(Nd4j.createFromArray(v).reshape(w.shape()));
        ModelDirectory.save(m, dir);
        ModelDirectory.copyTokenizerFiles(BASE, dir);
        return dir;
    }

    /** What {@code align4j generate --prompts chat.jsonl --temperature 0} produces for these messages. */
    static Generation generate(List<ChatMessage> messages, int maxNew, int logprobs) throws Exception {
        DecoderModel m = ModelDirectory.load(BASE, Backend.get().kernels(), DataType.FLOAT);
        BpeTokenizer tok = TokenizerFiles.load(BASE);
        m.limitVocabulary(tok);
        int[] ids = ChatTemplate.forModel(BASE).render(messages, tok, true).ids();
        SamplingConfig cfg = new SamplingConfig(maxNew, 0, 0, 1, 0, logprobs,
                SpecialTokens.stops(tok, m.config().eosTokenId()), List.of());
        return new Generator(m).generate(List.of(ids), cfg, tok::decode).get(0);
    }

    static ChatCompletionCreateParams.Builder chat(String model, String user) {
        return ChatCompletionCreateParams.builder().model(model).addSystemMessage("You tell short stories.")
                .addUserMessage(user);
    }

    @Test
    void listsAndRetrievesModelsWithColonsInTheirIds() {
        List<Model> models = client.models().list().data();
        assertEquals(List.of("base-model", FT, "rm"), models.stream().map(Model::id).toList());
        Model ft = client.models().retrieve(FT);
        assertEquals(FT, ft.id());
        assertEquals("user", ft.ownedBy());
        assertEquals(1_700_000_001L, ft.created());
        NotFoundException e = assertThrows(NotFoundException.class, () -> client.models().retrieve("ft:nope:x:y"));
        assertEquals(404, e.statusCode());
        assertEquals("model", e.param().orElse(null));
    }

    @Test
    void greedyChatEqualsGenerateTokenForTokenWithItsLogprobs() throws Exception {
        List<ChatMessage> msgs = List.of(new ChatMessage("system", "You tell short stories."),
                new ChatMessage("user", "Tell me about a dragon."));
        Generation expected = generate(msgs, 40, 3);
        assertTrue(expected.completionTokens() > 5, "a completion long enough to compare");
        BpeTokenizer tok = TokenizerFiles.load(BASE);
        ChatCompletion c = client.chat().completions().create(chat("base-model", "Tell me about a dragon.")
                .temperature(0).maxCompletionTokens(40L).logprobs(true).topLogprobs(3L).build());
        ChatCompletion.Choice choice = c.choices().get(0);
        assertEquals(tok.decode(Arrays.copyOf(expected.tokenIds(), expected.completionTokens())),
                choice.message().content().orElseThrow());
        assertEquals(expected.finishReason(), choice.finishReason().asString());
        List<ChatCompletionTokenLogprob> lps = choice.logprobs().orElseThrow().content().orElseThrow();
        assertEquals(expected.completionTokens(), lps.size());
        for (int t = 0; t < lps.size(); t++) {
            int id = expected.tokenIds()[t];
            assertEquals(tok.decode(new int[] {id}), lps.get(t).token());
            assertEquals(expected.logprobs()[t], lps.get(t).logprob(), 0.0, "logprob of token " + t);
            byte[] bytes = tok.decodeBytes(new int[] {id});
            List<Long> got = lps.get(t).bytes().orElseThrow();
            for (int i = 0; i < bytes.length; i++) {
                assertEquals(bytes[i] & 0xff, got.get(i).intValue());
            }
            assertEquals(3, lps.get(t).topLogprobs().size());
            for (int a = 0; a < 3; a++) {
                Generation.TokenLogprob want = expected.topLogprobs().get(t).get(a);
                assertEquals(tok.decode(new int[] {want.id()}), lps.get(t).topLogprobs().get(a).token());
                assertEquals(want.logprob(), lps.get(t).topLogprobs().get(a).logprob(), 0.0);
            }
        }
        int promptTokens = ChatTemplate.forModel(BASE).render(List.of(new ChatMessage("system",
                "You tell short stories."), new ChatMessage("user", "Tell me about a dragon.")), tok, true).ids().length;
        assertEquals(promptTokens, c.usage().orElseThrow().promptTokens());
        assertEquals(expected.tokenIds().length, c.usage().orElseThrow().completionTokens());
        assertEquals("chat.completion", c._object_().asString().orElseThrow());
    }

    @Test
    void streamedChatGivesTheSameTextAndLogprobsThenUsageAndDone() throws Exception {
        ChatCompletionCreateParams p = chat(FT, "Once upon a time").temperature(0.8).seed(11L)
                .maxCompletionTokens(30L).logprobs(true).topLogprobs(2L).build();
        ChatCompletion whole = client.chat().completions().create(p);
        StringBuilder text = new StringBuilder();
        List<Double> logprobs = new ArrayList<>();
        List<String> finish = new ArrayList<>();
        List<Long> usage = new ArrayList<>();
        ChatCompletionCreateParams streamed = p.toBuilder()
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(streamed)) {
            s.stream().forEach(chunk -> {
                chunk.usage().ifPresent(u -> usage.add(u.completionTokens()));
                for (ChatCompletionChunk.Choice c : chunk.choices()) {
                    c.delta().content().ifPresent(text::append);
                    c.logprobs().flatMap(ChatCompletionChunk.Choice.Logprobs::content)
                            .ifPresent(l -> l.forEach(x -> logprobs.add(x.logprob())));
                    c.finishReason().ifPresent(f -> finish.add(f.asString()));
                }
            });
        }
        assertEquals(whole.choices().get(0).message().content().orElseThrow(), text.toString());
        assertEquals(whole.choices().get(0).logprobs().orElseThrow().content().orElseThrow().stream()
                .map(ChatCompletionTokenLogprob::logprob).toList(), logprobs);
        assertEquals(List.of(whole.choices().get(0).finishReason().asString()), finish);
        assertEquals(List.of(whole.usage().orElseThrow().completionTokens()), usage);
        // the raw stream ends with [DONE]
        HttpResponse<String> raw = post("/v1/chat/completions", "{\"model\": \"base-model\", \"stream\": true,"
                + " \"max_tokens\": 3, \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}", KEY);
        assertEquals(200, raw.statusCode());
        assertTrue(raw.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        assertTrue(raw.body().strip().endsWith("data: [DONE]"), raw.body());
        assertTrue(raw.body().contains("\"object\":\"chat.completion.chunk\""));
    }

    @Test
    void textCompletionsTakeStringsAndTokenIdsWithLegacyLogprobs() throws Exception {
        BpeTokenizer tok = TokenizerFiles.load(BASE);
        Completion byText = client.completions().create(CompletionCreateParams.builder().model("base-model")
                .prompt("The little fox").maxTokens(12L).temperature(0).logprobs(2L).build());
        int[] ids = tok.encode("The little fox", true);
        List<Long> idList = new ArrayList<>();
        for (int id : ids) {
            idList.add((long) id);
        }
        Completion byIds = client.completions().create(CompletionCreateParams.builder().model("base-model")
                .promptOfArrayOfTokens(idList).maxTokens(12L).temperature(0).logprobs(2L).build());
        assertEquals(byText.choices().get(0).text(), byIds.choices().get(0).text());
        DecoderModel m = ModelDirectory.load(BASE, Backend.get().kernels(), DataType.FLOAT);
        m.limitVocabulary(tok);
        Generation g = new Generator(m).generate(List.of(ids), new SamplingConfig(12, 0, 0, 1, 0, 2,
                SpecialTokens.stops(tok, m.config().eosTokenId()), List.of()), tok::decode).get(0);
        assertEquals(tok.decode(Arrays.copyOf(g.tokenIds(), g.completionTokens())),
                byText.choices().get(0).text());
        List<Double> lps = byText.choices().get(0).logprobs().orElseThrow().tokenLogprobs().orElseThrow();
        for (int t = 0; t < lps.size(); t++) {
            assertEquals(g.logprobs()[t], lps.get(t), 0.0);
        }
        // two prompts, two choices each: prompt-major order
        HttpResponse<String> two = post("/v1/completions", "{\"model\": \"base-model\", \"prompt\": [\"A\", \"B\"],"
                + " \"n\": 2, \"max_tokens\": 4, \"seed\": 3}", KEY);
        assertEquals(200, two.statusCode(), two.body());
        assertEquals(4, Json.MAPPER.readTree(two.body()).get("choices").size());
        // streamed: the pieces joined are the whole text, then finish_reason, usage and [DONE]
        String one = "{\"model\": \"base-model\", \"prompt\": \"The little fox\", \"max_tokens\": 12,"
                + " \"temperature\": 0.9, \"seed\": 5, \"stop\": [\".\"]";
        JsonNode whole = Json.MAPPER.readTree(post("/v1/completions", one + "}", KEY).body());
        HttpResponse<String> streamed = post("/v1/completions", one + ", \"stream\": true, \"stream_options\":"
                + " {\"include_usage\": true}}", KEY);
        StringBuilder joined = new StringBuilder();
        String finish = null;
        JsonNode usage = null;
        for (String line : streamed.body().split("\n")) {
            if (!line.startsWith("data: ") || line.equals("data: [DONE]")) {
                continue;
            }
            JsonNode chunk = Json.MAPPER.readTree(line.substring(6));
            assertEquals("text_completion", chunk.get("object").asText());
            for (JsonNode c : chunk.get("choices")) {
                joined.append(c.get("text").asText());
                finish = c.get("finish_reason").isNull() ? finish : c.get("finish_reason").asText();
            }
            usage = chunk.get("usage").isNull() ? usage : chunk.get("usage");
        }
        assertTrue(streamed.body().strip().endsWith("data: [DONE]"));
        assertEquals(whole.at("/choices/0/text").asText(), joined.toString());
        assertEquals(whole.at("/choices/0/finish_reason").asText(), finish);
        assertEquals(whole.get("usage"), usage);
        HttpResponse<String> echo = post("/v1/completions", "{\"model\": \"base-model\", \"prompt\": \"A\","
                + " \"echo\": true}", KEY);
        assertError(echo, 400, "echo");
        assertError(post("/v1/completions", "{\"model\": \"base-model\", \"prompt\": \"A\", \"suffix\": \"z\"}", KEY),
                400, "suffix");
    }

    @Test
    void concurrentRequestsShareTheBatchAndGiveTheirOutputsAlone() throws Exception {
        int clients = 8;
        List<ChatCompletionCreateParams> params = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            ChatCompletionCreateParams.Builder b = chat("base-model", "Story number " + i + " about " + "a cat ".repeat(i))
                    .maxCompletionTokens(40L + i).seed(100L + i);
            params.add((i % 2 == 0 ? b.temperature(0) : b.temperature(1.0).topP(0.9)).build());
        }
        List<String> alone = new ArrayList<>();
        for (ChatCompletionCreateParams p : params) {
            alone.add(client.chat().completions().create(p).choices().get(0).message().content().orElseThrow());
        }
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        try {
            List<Future<String>> together = new ArrayList<>();
            for (ChatCompletionCreateParams p : params) {
                together.add(pool.submit(() -> client.chat().completions().create(p).choices().get(0).message()
                        .content().orElseThrow()));
            }
            for (int i = 0; i < clients; i++) {
                assertEquals(alone.get(i), together.get(i).get(), "client " + i);
            }
        } finally {
            pool.shutdownNow();
        }
        int peak = routes.models().ifLoaded("base-model").peakBatch();
        assertTrue(peak > 1, "concurrent requests were decoded in one batch (peak " + peak + ")");
    }

    @Test
    void scoresPairsWithARewardModel() throws Exception {
        HttpResponse<String> r = post("/v1/score", "{\"model\": \"rm\", \"input\": ["
                + "{\"prompt\": \"Rate this:\", \"response\": \"A happy story.\"},"
                + "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"response\": \"Hello there, friend\"}]}",
                KEY);
        assertEquals(200, r.statusCode(), r.body());
        JsonNode data = Json.MAPPER.readTree(r.body()).get("data");
        DecoderModel m = ModelDirectory.load(rewardDir, Backend.get().kernels(), DataType.FLOAT, true);
        ExampleEncoder enc = ExampleEncoder.forModel(rewardDir, m.config().eosTokenId());
        int[][] seqs = {enc.scoredSequence(new Content.Text("Rate this:"), new Content.Text("A happy story.")),
                enc.scoredSequence(new Content.Messages(List.of(new ChatMessage("user", "Hi"))),
                        new Content.Text("Hello there, friend"))};
        double[] w = m.parameters().get(DecoderModel.SCORE_HEAD).toDoubleVector();
        for (int i = 0; i < 2; i++) {
            INDArray h = m.forwardHidden(TokenBatch.of(new int[][] {seqs[i]}));
            double[] last = h.getRow(seqs[i].length - 1).toDoubleVector();
            double s = 0;
            for (int c = 0; c < w.length; c++) {
                s += last[c] * w[c];
            }
            assertEquals(s, data.get(i).get("score").asDouble(), 1e-4, "pair " + i);
        }
        assertTrue(Math.abs(data.get(0).get("score").asDouble() - data.get(1).get("score").asDouble()) > 1e-6);
        assertError(post("/v1/score", "{\"model\": \"base-model\", \"input\": [{\"prompt\": \"a\", \"response\": \"b\"}]}",
                KEY), 400, "model");
        BadRequestException e = assertThrows(BadRequestException.class, () -> client.chat().completions()
                .create(chat("rm", "Hi").build()));
        assertEquals("model", e.param().orElse(null));
        assertTrue(e.getMessage().contains("reward model"), e.getMessage());
    }

    @Test
    void serveAppServesTheInferenceRoutes() throws Exception {
        ServeConfig cfg = new ServeConfig(List.of(new ServeConfig.NamedModel("tiny", BASE)), "127.0.0.1", 0,
                tmp.resolve("data2"), null, 1 << 20, 1 << 20);
        try (Server s = ServeApp.create(cfg, new PrintStream(LOG, true)).start()) {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port()
                    + "/v1/models")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode());
            assertEquals("tiny", Json.MAPPER.readTree(r.body()).at("/data/0/id").asText());
        }
    }

    @Test
    void badRequestsGetOpenAisShapeAndStatus() throws Exception {
        NotFoundException nf = assertThrows(NotFoundException.class, () -> client.chat().completions()
                .create(chat("no-such-model", "Hi").build()));
        assertEquals("model", nf.param().orElse(null));
        OpenAIClient wrongKey = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + server.port() + "/v1")
                .apiKey("sk-wrong").maxRetries(0).build();
        assertThrows(UnauthorizedException.class, () -> wrongKey.models().list());
        assertError(post("/v1/chat/completions", "{\"model\": \"base-model\", \"messages\": [}", KEY), 400, null);
        assertError(post("/v1/chat/completions", "{\"model\": \"base-model\", \"messages\": []}", null), 401, null);
        String msgs = "\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]";
        assertError(post("/v1/chat/completions", "{\"model\": \"base-model\", " + msgs + ", \"temperature\": \"hot\"}",
                KEY), 400, "temperature");
        assertError(post("/v1/chat/completions", "{\"model\": \"base-model\", " + msgs + ", \"max_tokens\": 0}", KEY),
                400, "max_tokens");
        assertError(post("/v1/chat/completions", "{\"model\": \"base-model\", \"messages\": [{\"role\": \"user\","
                + " \"content\": \"Hi\"}, {\"role\": \"user\", \"content\": 5}]}", KEY), 400, "messages[1].content");
        assertError(post("/v1/chat/completions", "{\"model\": \"base-model\", \"messages\": [{\"role\": \"tool\","
                + " \"content\": \"x\"}]}", KEY), 400, "messages[0].role");
        assertError(post("/v1/chat/completions", "{\"model\": \"base-model\", " + msgs + ", \"tools\": [{\"type\":"
                + " \"function\", \"function\": {\"name\": \"f\"}}]}", KEY), 400, "tools");
        assertError(post("/v1/chat/completions", "{\"model\": \"base-model\", " + msgs + ", \"response_format\":"
                + " {\"type\": \"json_schema\"}}", KEY), 400, "response_format");
        assertError(post("/v1/chat/completions", "{\"model\": \"base-model\", " + msgs + ", \"top_logprobs\": 2}",
                KEY), 400, "top_logprobs");
        assertError(post("/v1/chat/completions", "{" + msgs + "}", KEY), 400, "model");
        assertError(post("/v1/chat/completions", "{\"model\": \"base-model\", \"messages\": [{\"role\": \"user\","
                + " \"content\": \"" + "a ".repeat(400) + "\"}]}", KEY), 400, "messages");
        // harmless fields are ignored
        HttpResponse<String> ok = post("/v1/chat/completions", "{\"model\": \"base-model\", " + msgs
                + ", \"max_tokens\": 2, \"user\": \"u1\", \"store\": false, \"metadata\": {\"a\": \"b\"},"
                + " \"parallel_tool_calls\": true, \"presence_penalty\": 0}", KEY);
        assertEquals(200, ok.statusCode(), ok.body());
        HttpResponse<String> big = post("/v1/chat/completions", "{\"model\": \"base-model\", \"messages\": [{\"role\":"
                + " \"user\", \"content\": \"" + "x".repeat(2 << 20) + "\"}]}", KEY);
        assertError(big, 413, null);
        assertFalse(LOG.toString().contains("internal error"), LOG.toString());
    }

    // ---------------------------------------------------------------- helpers

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    static HttpResponse<String> post(String path, String body, String key) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static void assertError(HttpResponse<String> r, int status, String param) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        JsonNode err = Json.MAPPER.readTree(r.body()).get("error");
        assertTrue(err != null && err.has("message") && err.has("type") && err.has("param") && err.has("code"),
                r.body());
        assertEquals(param, err.get("param").isNull() ? null : err.get("param").asText(), r.body());
        assertFalse(r.body().contains("Exception") || r.body().contains("\tat "), r.body());
    }
}
