package org.align4j.serve.infer;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;

import org.align4j.core.generate.Generation;
import org.align4j.core.util.Json;
import org.align4j.serve.ApiError;
import org.align4j.serve.ModelCatalog;
import org.align4j.serve.Routes;

/**
 * OpenAI's inference routes: models, chat completions, text completions (with server-sent events
 * when streamed), and {@code /v1/score} for reward models. Each handler parses its request into a
 * checked record, asks {@link InferenceService}, and writes the answer.
 */
public final class InferenceRoutes implements Routes {

    private final ModelCatalog catalog;
    private final LoadedModels models;
    private final InferenceService service;

    public InferenceRoutes(ModelCatalog catalog, PrintStream log) {
        this.catalog = catalog;
        this.models = new LoadedModels(catalog, log);
        this.service = new InferenceService(models);
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.get("/v1/models", this::listModels);
        // <id> matches across '/' too; ids hold ':' (ft:BASE:SUFFIX:JOB) and are only ever catalog keys
        routes.get("/v1/models/<id>", this::retrieveModel);
        routes.post("/v1/chat/completions", this::chat);
        routes.post("/v1/completions", this::completions);
        routes.post("/v1/score", this::score);
    }

    private void listModels(Context ctx) {
        ctx.json(Shapes.modelList(catalog.list()));
    }

    private void retrieveModel(Context ctx) {
        ctx.json(Shapes.model(catalog.require(ctx.pathParam("id"), "model")));
    }

    private void chat(Context ctx) throws Exception {
        ChatRequest req = ChatRequest.parse(body(ctx));
        Run run = service.chat(req);
        String id = "chatcmpl-" + randomId();
        long created = Instant.now().getEpochSecond();
        if (req.decoding().stream()) {
            try {
                streamChat(ctx, run, id, created, req.decoding().includeUsage());
            } catch (Streamed | IOException ended) {
                // the client went away (its decoding is cancelled) or got the error as an event
            }
        } else {
            ctx.json(Shapes.chatCompletion(id, created, run, run.await()));
        }
    }

    private void completions(Context ctx) throws Exception {
        CompletionRequest req = CompletionRequest.parse(body(ctx));
        Run run = service.complete(req);
        String id = "cmpl-" + randomId();
        long created = Instant.now().getEpochSecond();
        if (req.decoding().stream()) {
            try {
                streamText(ctx, run, id, created, req.decoding().includeUsage());
            } catch (Streamed | IOException ended) {
                // the client went away (its decoding is cancelled) or got the error as an event
            }
        } else {
            ctx.json(Shapes.textCompletion(id, created, run, run.await()));
        }
    }

    private void score(Context ctx) throws IOException {
        ScoreRequest req = ScoreRequest.parse(body(ctx));
        InferenceService.Scores s = service.score(req);
        ObjectNode o = Json.MAPPER.createObjectNode().put("object", "list").put("model", req.model());
        ArrayNode data = o.putArray("data");
        for (int i = 0; i < s.scores().length; i++) {
            data.addObject().put("object", "score").put("index", i).put("score", s.scores()[i]);
        }
        o.putObject("usage").put("prompt_tokens", s.tokens()).put("total_tokens", s.tokens());
        ctx.json(o);
    }

    private static JsonNode body(Context ctx) throws IOException {
        String body = ctx.body();
        if (body.isBlank()) {
            throw ApiError.invalid(null, "The request has no body; send a JSON object.");
        }
        return Json.MAPPER.readTree(body);
    }

    private static String randomId() {
        byte[] b = new byte[12];
        ThreadLocalRandom.current().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    // ---------------------------------------------------------------- server-sent events

    /** Chat chunks: the role first, then each token's text (and log-probability), the finish, usage, [DONE]. */
    private void streamChat(Context ctx, Run run, String id, long created, boolean includeUsage) throws Exception {
        Sse sse = new Sse(ctx, run);
        StreamText[] texts = texts(run);
        Generation[] done = new Generation[run.choices()];
        for (int k = 0; k < run.choices(); k++) {
            sse.send(Shapes.chatChunk(id, created, run, k, delta("assistant", ""), null, null, includeUsage));
        }
        while (!run.finished()) {
            Run.Event e = sse.next();
            int k = e.choice();
            if (e.done() == null) {
                String text = texts[k].next(e.token());
                ObjectNode lp = run.wantLogprobs && !run.cfg.stopTokenIds().contains(e.token())
                        ? Shapes.tokenLogprob(run.model, e.token(), e.logprob(), e.top()) : null;
                if (!text.isEmpty() || lp != null) {
                    sse.send(Shapes.chatChunk(id, created, run, k, delta(null, text), lp, null, includeUsage));
                }
            } else {
                done[k] = e.done();
                String rest = texts[k].finish(e.done());
                if (!rest.isEmpty()) {
                    sse.send(Shapes.chatChunk(id, created, run, k, delta(null, rest), null, null, includeUsage));
                }
                sse.send(Shapes.chatChunk(id, created, run, k, Json.MAPPER.createObjectNode(), null,
                        e.done().finishReason(), includeUsage));
            }
        }
        if (includeUsage) {
            sse.send(Shapes.usageChunk(id, "chat.completion.chunk", created, run, Arrays.asList(done)));
        }
        sse.done();
    }

    /** Text completion chunks: each token's text (and legacy log-probabilities), the finish, usage, [DONE]. */
    private void streamText(Context ctx, Run run, String id, long created, boolean includeUsage) throws Exception {
        Sse sse = new Sse(ctx, run);
        StreamText[] texts = texts(run);
        Generation[] done = new Generation[run.choices()];
        while (!run.finished()) {
            Run.Event e = sse.next();
            int k = e.choice();
            if (e.done() == null) {
                String text = texts[k].next(e.token());
                boolean visible = !run.cfg.stopTokenIds().contains(e.token());
                ObjectNode lp = run.wantLogprobs && visible ? tokenLegacy(run, e) : null;
                if (!text.isEmpty() || lp != null) {
                    sse.send(Shapes.textChunk(id, created, run, k, text, lp, null, includeUsage));
                }
            } else {
                done[k] = e.done();
                sse.send(Shapes.textChunk(id, created, run, k, texts[k].finish(e.done()), null,
                        e.done().finishReason(), includeUsage));
            }
        }
        if (includeUsage) {
            sse.send(Shapes.usageChunk(id, "text_completion", created, run, Arrays.asList(done)));
        }
        sse.done();
    }

    private static ObjectNode tokenLegacy(Run run, Run.Event e) {
        Generation one = new Generation(new int[0], new int[] {e.token()}, new double[] {e.logprob()},
                List.of(e.top()), "length", 1);
        return Shapes.legacyLogprobs(run.model, one, 0);
    }

    private static StreamText[] texts(Run run) {
        StreamText[] texts = new StreamText[run.choices()];
        for (int k = 0; k < texts.length; k++) {
            texts[k] = new StreamText(run.cfg, run.model::decode);
        }
        return texts;
    }

    private static ObjectNode delta(String role, String content) {
        ObjectNode d = Json.MAPPER.createObjectNode();
        if (role != null) {
            d.put("role", role);
        }
        return d.put("content", content);
    }

    /**
     * A response of server-sent events: headers go out with the first event; a client that goes away
     * cancels the run's decoding; an error after the headers is sent as an event in OpenAI's shape.
     */
    private static final class Sse {
        private final Run run;
        private final OutputStream out;

        Sse(Context ctx, Run run) throws IOException {
            this.run = run;
            ctx.status(200);
            ctx.res().setContentType("text/event-stream");
            ctx.res().setCharacterEncoding("utf-8");
            ctx.res().setHeader("Cache-Control", "no-cache");
            this.out = ctx.res().getOutputStream();
        }

        Run.Event next() throws Exception {
            try {
                return run.next();
            } catch (ApiError e) {
                Map<String, Object> err = new LinkedHashMap<>();
                err.put("message", e.getMessage());
                err.put("type", e.type());
                err.put("param", e.param());
                err.put("code", e.code());
                write(Json.MAPPER.writeValueAsString(Map.of("error", err)));
                done();
                throw new Streamed();
            }
        }

        void send(ObjectNode chunk) throws IOException {
            write(Json.MAPPER.writeValueAsString(chunk));
        }

        void done() throws IOException {
            write("[DONE]");
        }

        private void write(String data) throws IOException {
            try {
                out.write(("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
            } catch (IOException e) {
                run.cancel();
                throw e;
            }
        }
    }

    /** The response already went out (an error was sent as an event); nothing more to write. */
    static final class Streamed extends RuntimeException {
        Streamed() {
            super(null, null, false, false);
        }
    }

    /** The loaded models (tests look at their decoding batches). */
    LoadedModels models() {
        return models;
    }

    @Override
    public void close() {
        models.close();
    }
}
