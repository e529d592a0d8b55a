package org.align4j.serve.jobs;

import java.util.TreeSet;
import java.nio.file.Files;
import java.io.IOException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;

import org.align4j.core.checkpoint.ModelKind;
import org.align4j.core.run.RunDirectory;
import org.align4j.core.util.Json;
import org.align4j.core.util.UserInputException;
import org.align4j.reward.RewardScorer;
import org.align4j.reward.grader.GraderParser;
import org.align4j.serve.ApiError;
import org.align4j.serve.ModelCatalog;
import org.align4j.serve.files.FileService;
import org.align4j.serve.files.Ids;
import org.align4j.serve.files.StoredFile;

/**
 * Fine-tuning jobs: creation (every field checked, every hyperparameter resolved, the stage's
 * settings resolved by the stage's own rules before the job exists), listing, and the state
 * changes a client asks for (cancel, pause, resume). Training itself is the {@link JobRunner}'s.
 */
public final class JobService {

    private static final SecureRandom SEEDS = new SecureRandom();

    private final JobStore store;
    private final FileService files;
    private final ModelCatalog catalog;
    private final Path dataDir;
    private JobRunner runner;

    public JobService(JobStore store, FileService files, ModelCatalog catalog, Path dataDir) {
        this.store = store;
        this.files = files;
        this.catalog = catalog;
        this.dataDir = dataDir;
    }

    void attach(JobRunner runner) {
        this.runner = runner;
    }

    /** A job's run directory, made from its checked id. */
    public Path jobDir(String id) {
        return dataDir.resolve("jobs").resolve(Ids.require(Ids.JOB, id, "fine_tuning_job_id", "fine-tuning job"));
    }

    public Job create(JobRequest r) throws IOException {
        ModelCatalog.Entry base = catalog.require(r.model(), "model");
        try {
            ModelKind.requireCausalLm(base.dir());
        } catch (UserInputException e) {
            throw ApiError.invalid("model", "The model '" + r.model() + "' is a reward model; fine-tuning needs a"
                    + " causal language model.");
        }
        StoredFile training = file(r.trainingFile(), "training_file", r.method());
        StoredFile validation = r.validationFile() == null ? null : file(r.validationFile(), "validation_file",
                r.method());
        Hyperparameters.Resolved hp = Hyperparameters.resolve(r.hyperparameters(), r.method(), training.records());
        long seed = r.seed() != null ? r.seed() : SEEDS.nextInt(Integer.MAX_VALUE);
        String id = Ids.next(Ids.JOB);

        ObjectNode spec = Json.MAPPER.createObjectNode();
        spec.put("model", r.model());
        spec.put("training_file", training.id());
        spec.put("validation_file", validation == null ? null : validation.id());
        spec.put("suffix", r.suffix());
        spec.put("seed", seed);
        spec.set("metadata", r.metadata());
        ObjectNode method = spec.putObject("method");
        method.put("type", r.method().id());
        ObjectNode inner = method.putObject(r.method().id());
        ObjectNode shown = hp.toJson();
        if (!r.align4j().isEmpty()) {
            shown.set(Hyperparameters.EXTENSION, r.align4j());
        }
        inner.set("hyperparameters", shown);
        if (r.grader() != null) {
            inner.set("grader", r.grader());
        }
        ObjectNode settings = settings(r, base, training, validation, hp, seed, id);
        spec.set("settings", settings);
        spec.set("extension_settings", r.align4j());
        spec.put("extension_param", r.extensionParam());
        checkSettings(r, settings);
        if (r.grader() != null) {
            ObjectNode grader = checkGrader(r.grader());
            spec.set("grader_resolved", grader);
        }
        Job job = new Job(id, Instant.now().getEpochSecond(), Job.VALIDATING, spec, null, null, null, null, null, null,
                0, 0, Json.MAPPER.createObjectNode());
        store.insert(job);
        store.addEvent(id, "info", "message", "Created fine-tuning job: " + id, null);
        store.addEvent(id, "info", "message", "Validating training file: " + training.id()
                + (validation == null ? "" : " and validation file: " + validation.id()), null);
        if (runner != null) {
            runner.wake();
        }
        return store.find(id).orElseThrow();
    }

    private StoredFile file(String id, String param, JobRequest.Method method) {
        StoredFile f = files.get(id, param);
        if (!f.processed() && method != JobRequest.Method.REINFORCEMENT) {
            throw ApiError.invalid(param, "File " + id + " failed validation (status 'error'); see its status_details"
                    + " and upload a corrected file.");
        }
        String kind = f.recordKind();
        if (method != JobRequest.Method.REINFORCEMENT && (kind == null || !Stages.KINDS.get(method).contains(kind))) {
            throw ApiError.invalid(param, "File " + id + " holds " + (kind == null ? "no records" : kind + " records")
                    + "; method '" + method.id() + "' trains on " + String.join(", ", new TreeSet<>(
                    Stages.KINDS.get(method))) + " records.");
        }
        return f;
    }

    /** The stage's settings that the job's fields decide; the extension settings overlay the rest. */
    private ObjectNode settings(JobRequest r, ModelCatalog.Entry base, StoredFile training, StoredFile validation,
                                Hyperparameters.Resolved hp, long seed, String id) {
        ObjectNode defaults = Stages.defaults(r.method());
        ObjectNode s = Json.MAPPER.createObjectNode();
        s.put("model", base.dir().toAbsolutePath().toString());
        s.put(r.method() == JobRequest.Method.REINFORCEMENT ? "prompts" : "train_file",
                files.path(training.id()).toAbsolutePath().toString());
        if (validation != null) {
            s.put("val_file", files.path(validation.id()).toAbsolutePath().toString());
        }
        s.put("output_dir", jobDir(id).toAbsolutePath().toString());
        s.put("epochs", hp.nEpochs());
        s.put("batch_size", hp.batchSize());
        s.put("lr", defaults.path("lr").asDouble() * hp.learningRateMultiplier());
        s.put("seed", seed);
        if (hp.beta() != null) {
            s.put("beta", hp.beta());
        }
        if (r.method() == JobRequest.Method.REINFORCEMENT) {
            s.put("grader", jobDir(id).resolve("grader.json").toAbsolutePath().toString());
        }
        return s;
    }

    /** The extension settings, checked by the stage's own ranges and rules; errors name the setting's param. */
    private void checkSettings(JobRequest r, ObjectNode settings) {
        String param = r.extensionParam();
        Iterator<String> keys = r.align4j().fieldNames();
        while (keys.hasNext()) {
            String k = keys.next();
            if (Stages.NOT_EXTENSION.containsKey(k)) {
                throw ApiError.invalid(param + "." + k, "'" + k + "' cannot be set under '" + param + "': "
                        + Stages.NOT_EXTENSION.get(k) + ".");
            }
        }
        Map<String, JsonNode> flags = new LinkedHashMap<>();
        settings.fields().forEachRemaining(e -> flags.put(e.getKey(), e.getValue()));
        try {
            Stages.resolve(r.method(), r.align4j(), param, flags);
        } catch (IOException | UserInputException e) {
            throw ApiError.invalid(settingParam(param, r.align4j(), e.getMessage()), e.getMessage());
        }
    }

    /** The param of the first extension setting an error message names, else the extension's. */
    static String settingParam(String param, ObjectNode extension, String message) {
        Iterator<String> keys = extension.fieldNames();
        while (keys.hasNext()) {
            String k = keys.next();
            if (message.contains("'" + k + "'") || message.contains("--" + k.replace('_', '-')) || message.contains(
                    " " + k + " ") || message.contains(" " + k + ":")) {
                return param + "." + k;
            }
        }
        return param;
    }

    /**
     * A grader in OpenAI's shape, checked by the reward module's parser; a {@code score_model}'s
     * {@code model} is a model id of this server (a reward model), which becomes its directory.
     */
    private ObjectNode checkGrader(JsonNode grader) throws IOException {
        String param = "method.reinforcement.grader";
        if (!grader.isObject()) {
            throw ApiError.invalid(param, "'" + param + "' must be a grader object with a 'type'.");
        }
        ObjectNode resolved = grader.deepCopy();
        resolveModels(resolved, param);
        try {
            // checked, not loaded: the request thread runs no model (the job loads it on its own kernels)
            GraderParser.parse(resolved, param, dir -> {
                RewardScorer.requireRewardModel(dir);
                return null;
            });
        } catch (UserInputException e) {
            throw ApiError.invalid(param, e.getMessage());
        }
        return resolved;
    }

    private void resolveModels(ObjectNode g, String param) {
        if ("score_model".equals(g.path("type").asText()) && g.path("model").isTextual()) {
            ModelCatalog.Entry e = catalog.require(g.get("model").asText(), param + ".model");
            try {
                RewardScorer.requireRewardModel(e.dir());
            } catch (IOException | RuntimeException x) {
                // named by the client's id: the server's directories stay out of the answer
                throw ApiError.invalid(param + ".model", "The model '" + e.id() + "' is not a reward model (it has"
                        + " no scalar score head): a score_model grader needs one trained with align4j reward.");
            }
            g.set("model", new TextNode(e.dir().toAbsolutePath().toString()));
        }
        if ("multi".equals(g.path("type").asText()) && g.path("graders").isObject()) {
            g.get("graders").fields().forEachRemaining(e -> {
                if (e.getValue().isObject()) {
                    resolveModels((ObjectNode) e.getValue(), param + ".graders." + e.getKey());
                }
            });
        }
    }

    public Job get(String id) {
        Ids.require(Ids.JOB, id, "fine_tuning_job_id", "fine-tuning job");
        return store.find(id).orElseThrow(() -> ApiError.notFound("fine_tuning_job_id", "No such fine-tuning job: '"
                + id + "'"));
    }

    public List<Job> list(String after, int limit) {
        return store.list(after, limit);
    }

    public List<JobStore.Event> events(String id, String after, int limit) {
        get(id);
        return store.events(id, after, limit);
    }

    public List<JobStore.Checkpoint> checkpoints(String id, String after, int limit) {
        get(id);
        return store.checkpoints(id, after, limit);
    }

    public Job cancel(String id) throws IOException {
        return stop(id, "cancel");
    }

    public Job pause(String id) throws IOException {
        return stop(id, "pause");
    }

    /**
     * Cancel or pause: a job waiting in the queue changes at once; a running one gets the run
     * directory's cancel request (it checkpoints after its current step and stops), and the
     * runner records the outcome.
     */
    private Job stop(String id, String what) throws IOException {
        Job j = get(id);
        String target = what.equals("cancel") ? Job.CANCELLED : Job.PAUSED;
        for (String waiting : what.equals("cancel") ? List.of(Job.VALIDATING, Job.QUEUED, Job.PAUSED)
                : List.of(Job.VALIDATING, Job.QUEUED)) {
            if (store.moveStatus(id, waiting, target)) {
                if (target.equals(Job.CANCELLED)) {
                    store.finish(id, Job.CANCELLED, null, null, null);
                }
                store.addEvent(id, "info", "message", what.equals("cancel") ? "Job cancelled" : "Job paused", null);
                return get(id);
            }
        }
        j = get(id);
        if (!j.status().equals(Job.RUNNING)) {
            throw ApiError.conflict("fine_tuning_job_id", "Cannot " + what + " job " + id + ": its status is '"
                    + j.status() + "'.");
        }
        store.setStopRequest(id, what);
        RunDirectory run = new RunDirectory(jobDir(id));
        if (Files.isDirectory(run.root())) {
            run.requestCancel();
        }
        store.addEvent(id, "info", "message", (what.equals("cancel") ? "Cancellation" : "Pause")
                + " requested; the job stops after its current step, with a checkpoint", null);
        return get(id);
    }

    public Job resume(String id) {
        get(id);
        if (!store.moveStatus(id, Job.PAUSED, Job.QUEUED)) {
            throw ApiError.conflict("fine_tuning_job_id", "Cannot resume job " + id + ": its status is '"
                    + get(id).status() + "', not 'paused'.");
        }
        store.addEvent(id, "info", "message", "Job resumed; it continues from its last checkpoint", null);
        if (runner != null) {
            runner.wake();
        }
        return get(id);
    }
}
