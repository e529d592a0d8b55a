package org.align4j.serve.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;

import org.align4j.core.util.Json;
import org.align4j.serve.files.Pages;

/** {@code /v1/fine_tuning/jobs} and its actions, events and checkpoints; each route one line to the service. */
public final class JobRoutes {

    private final JobService jobs;

    public JobRoutes(JobService jobs) {
        this.jobs = jobs;
    }

    public void register(RoutesConfig routes) {
        routes.post("/v1/fine_tuning/jobs", this::create);
        routes.get("/v1/fine_tuning/jobs", ctx -> {
            int limit = Pages.limit(ctx, 20, 100);
            ctx.json(Pages.list(jobs.list(ctx.queryParam("after"), limit + 1), limit, JobRoutes::json));
        });
        routes.get("/v1/fine_tuning/jobs/{id}", ctx -> ctx.json(json(jobs.get(ctx.pathParam("id")))));
        routes.post("/v1/fine_tuning/jobs/{id}/cancel", ctx -> ctx.json(json(jobs.cancel(ctx.pathParam("id")))));
        routes.post("/v1/fine_tuning/jobs/{id}/pause", ctx -> ctx.json(json(jobs.pause(ctx.pathParam("id")))));
        routes.post("/v1/fine_tuning/jobs/{id}/resume", ctx -> ctx.json(json(jobs.resume(ctx.pathParam("id")))));
        routes.get("/v1/fine_tuning/jobs/{id}/events", ctx -> {
            int limit = Pages.limit(ctx, 20, 1000);
            String id = ctx.pathParam("id");
            ctx.json(Pages.list(jobs.events(id, ctx.queryParam("after"), limit + 1), limit, JobRoutes::json));
        });
        routes.get("/v1/fine_tuning/jobs/{id}/checkpoints", ctx -> {
            int limit = Pages.limit(ctx, 10, 100);
            String id = ctx.pathParam("id");
            ctx.json(Pages.list(jobs.checkpoints(id, ctx.queryParam("after"), limit + 1), limit, JobRoutes::json));
        });
    }

    private void create(Context ctx) throws Exception {
        JsonNode body = Json.MAPPER.readTree(ctx.body());
        ctx.json(json(jobs.create(JobRequest.parse(body))));
    }

    /** OpenAI's fine-tuning job object; align4j's estimate and progress under {@code align4j}. */
    static ObjectNode json(Job j) {
        ObjectNode s = j.spec();
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("id", j.id());
        o.put("object", "fine_tuning.job");
        o.put("created_at", j.createdAt());
        o.set("error", j.error());
        o.put("fine_tuned_model", j.fineTunedModel());
        o.put("finished_at", j.finishedAt());
        JsonNode hp = s.path("method").path(j.method()).path("hyperparameters");
        ObjectNode shown = Json.MAPPER.createObjectNode();
        for (String k : new String[] {"n_epochs", "batch_size", "learning_rate_multiplier"}) {
            shown.set(k, hp.get(k));
        }
        o.set("hyperparameters", shown);
        o.put("model", s.path("model").asText());
        o.put("organization_id", "org-align4j");
        o.putArray("result_files");
        o.put("seed", s.path("seed").asLong());
        o.put("status", j.status());
        o.put("trained_tokens", j.trainedTokens());
        o.put("training_file", s.path("training_file").asText());
        o.set("validation_file", s.get("validation_file"));
        o.put("estimated_finish", j.estimatedFinish());
        o.putNull("integrations");
        o.set("metadata", s.get("metadata"));
        o.set("method", s.get("method"));
        o.set("suffix", s.get("suffix"));
        ObjectNode ext = j.extension().deepCopy();
        o.set("align4j", ext);
        return o;
    }

    static ObjectNode json(JobStore.Event e) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("id", e.id());
        o.put("object", "fine_tuning.job.event");
        o.put("created_at", e.createdAt());
        o.put("level", e.level());
        o.put("message", e.message());
        o.put("type", e.type());
        o.set("data", e.data() == null ? Json.MAPPER.createObjectNode() : e.data());
        return o;
    }

    static ObjectNode json(JobStore.Checkpoint c) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("id", c.id());
        o.put("object", "fine_tuning.job.checkpoint");
        o.put("created_at", c.createdAt());
        o.put("fine_tuned_model_checkpoint", c.modelId());
        o.put("fine_tuning_job_id", c.jobId());
        o.set("metrics", c.metrics());
        o.put("step_number", c.step());
        return o;
    }
}
