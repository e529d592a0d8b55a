package org.align4j.serve.web;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;

import org.align4j.core.util.Json;
import org.align4j.serve.Routes;

/**
 * OpenAI's documented wire format for the routes the Jobs and Playground pages call, with fixed
 * answers, for testing the pages' scripts before the real inference and fine-tuning routes are
 * merged into this branch. It records the chat requests so a test can see what the page sent.
 */
final class FakeOpenAi implements Routes {

    final List<JsonNode> chatRequests = new CopyOnWriteArrayList<>();
    volatile String jobStatus = "running";
    volatile int jobsCreated = 1;

    static final Map<String, List<String>> ANSWERS = Map.of("base", List.of("Hello", ",", " world"),
            "ft:base:demo:ftjob-1", List.of("Hi", " there", "!"));

    @Override
    public void register(RoutesConfig r) {
        r.get("/v1/models", ctx -> {
            ObjectNode o = list();
            for (String id : List.of("base", "ft:base:demo:ftjob-1")) {
                ((ArrayNode) o.get("data")).addObject().put("id", id).put("object", "model").put("created", 1_700_000_000)
                        .put("owned_by", "align4j");
            }
            ctx.json(o);
        });
        r.post("/v1/chat/completions", this::chat);
        r.get("/v1/fine_tuning/jobs", ctx -> {
            ObjectNode o = list();
            ((ArrayNode) o.get("data")).add(job());
            ctx.json(o);
        });
        r.get("/v1/fine_tuning/jobs/{id}", ctx -> ctx.json(job()));
        r.get("/v1/fine_tuning/jobs/{id}/events", ctx -> {
            ObjectNode o = list();
            ArrayNode d = (ArrayNode) o.get("data");
            for (int step = 6; step >= 1; step--) { // newest first, as OpenAI lists them
                ObjectNode e = d.addObject().put("object", "fine_tuning.job.event").put("id", "ev-" + step)
                        .put("created_at", 1_700_000_000 + step).put("level", "info").put("type", "metrics")
                        .put("message", "Step " + step + "/6: training loss=" + (3.0 / step));
                e.putObject("data").put("step", step).put("train_loss", 3.0 / step).put("total_steps", 6);
            }
            d.addObject().put("object", "fine_tuning.job.event").put("id", "ev-0").put("created_at", 1_700_000_000)
                    .put("level", "info").put("type", "message").put("message", "Fine-tuning job started");
            ctx.json(o);
        });
        r.get("/v1/fine_tuning/jobs/{id}/checkpoints", ctx -> {
            ObjectNode o = list();
            ObjectNode c = ((ArrayNode) o.get("data")).addObject().put("object", "fine_tuning.job.checkpoint")
                    .put("id", "ftckpt-3").put("created_at", 1_700_000_003)
                    .put("fine_tuned_model_checkpoint", "ft:base:demo:ftjob-1:ckpt-step-3").put("step_number", 3)
                    .put("fine_tuning_job_id", "ftjob-1");
            c.putObject("metrics").put("step", 3).put("train_loss", 1.0);
            ctx.json(o);
        });
        r.post("/v1/fine_tuning/jobs/{id}/cancel", ctx -> {
            jobStatus = "cancelled";
            ctx.json(job());
        });
        r.post("/v1/files", ctx -> {
            String name = ctx.uploadedFile("file").filename();
            ObjectNode f = Json.MAPPER.createObjectNode().put("id", "file-abc").put("object", "file")
                    .put("bytes", ctx.uploadedFile("file").size()).put("created_at", 1_700_000_000).put("filename", name)
                    .put("purpose", ctx.formParam("purpose")).put("status", "processed");
            f.putObject("validation").put("records", 2).put("estimated_tokens", 42);
            ctx.json(f);
        });
        r.post("/v1/fine_tuning/jobs", ctx -> {
            jobsCreated++;
            ctx.json(Json.MAPPER.createObjectNode().put("id", "ftjob-" + jobsCreated).put("object", "fine_tuning.job")
                    .put("status", "validating_files"));
        });
    }

    private static ObjectNode list() {
        ObjectNode o = Json.MAPPER.createObjectNode().put("object", "list").put("has_more", false);
        o.putArray("data");
        return o;
    }

    private ObjectNode job() {
        ObjectNode j = Json.MAPPER.createObjectNode().put("object", "fine_tuning.job").put("id", "ftjob-1")
                .put("model", "base").put("created_at", 1_700_000_000).put("status", jobStatus)
                .put("training_file", "file-abc").put("seed", 7);
        j.putObject("method").put("type", "supervised").putObject("supervised").putObject("hyperparameters")
                .put("n_epochs", 2);
        return j;
    }

    private void chat(Context ctx) throws Exception {
        JsonNode req = Json.MAPPER.readTree(ctx.body());
        chatRequests.add(req);
        String model = req.path("model").asText();
        List<String> tokens = ANSWERS.getOrDefault(model, List.of("?"));
        StringBuilder sse = new StringBuilder();
        List<String> all = new ArrayList<>(tokens);
        for (int i = 0; i < all.size(); i++) {
            ObjectNode chunk = Json.MAPPER.createObjectNode().put("id", "chatcmpl-1").put("object", "chat.completion.chunk")
                    .put("created", 1_700_000_000).put("model", model);
            ObjectNode choice = chunk.putArray("choices").addObject().put("index", 0);
            choice.putObject("delta").put("content", all.get(i));
            ObjectNode lp = choice.putObject("logprobs").putArray("content").addObject().put("token", all.get(i))
                    .put("logprob", -0.25 * (i + 1));
            lp.putNull("bytes");
            lp.putArray("top_logprobs").addObject().put("token", all.get(i)).put("logprob", -0.25 * (i + 1));
            choice.putNull("finish_reason");
            sse.append("data: ").append(Json.MAPPER.writeValueAsString(chunk)).append("\n\n");
        }
        ObjectNode last = Json.MAPPER.createObjectNode().put("id", "chatcmpl-1").put("object", "chat.completion.chunk")
                .put("created", 1_700_000_000).put("model", model);
        ObjectNode choice = last.putArray("choices").addObject().put("index", 0);
        choice.putObject("delta");
        choice.put("finish_reason", "stop");
        sse.append("data: ").append(Json.MAPPER.writeValueAsString(last)).append("\n\n").append("data: [DONE]\n\n");
        ctx.contentType("text/event-stream").result(sse.toString());
    }
}
