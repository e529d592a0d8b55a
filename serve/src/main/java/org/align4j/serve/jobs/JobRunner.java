package org.align4j.serve.jobs;

import java.util.Locale;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.run.Checkpoints;
import org.align4j.core.run.RunDirectory;
import org.align4j.core.util.AtomicFiles;
import org.align4j.core.util.Json;
import org.align4j.core.util.UserInputException;
import org.align4j.data.format.DataException;
import org.align4j.data.validate.ValidationReport;
import org.align4j.data.validate.Validator;
import org.align4j.data.format.PromptSource;
import org.align4j.serve.ModelCatalog;
import org.align4j.serve.files.FileService;
import org.align4j.serve.files.Ids;
import org.align4j.serve.files.StoredFile;
import org.align4j.train.LoopResult;
import org.align4j.train.StageConfig;
import org.align4j.train.TrainingFailure;

/**
 * Trains one job at a time from the persistent queue: validates waiting jobs' files (and makes
 * the size estimate), then runs the oldest running or queued job's stage in its run directory
 * {@code DATA_DIR/jobs/<id>/}, mirroring the run's metrics and events into the job's events as
 * they are written. A stage always resumes, so a job the server stopped continues from its last
 * checkpoint. On success the model and its checkpoints join the {@link ModelCatalog}. Closing
 * asks the running stage to checkpoint and stop (the job stays {@code running} and resumes at the
 * next start).
 */
public final class JobRunner implements AutoCloseable {

    private static final Pattern TOTAL_STEPS = Pattern.compile("for (\\d+) steps");

    private final JobStore store;
    private final JobService jobs;
    private final FileService files;
    private final ModelCatalog catalog;
    private final Path dataDir;
    private final PrintStream log;
    private final Object signal = new Object();
    private final Thread thread;
    /** Validates new jobs' files while a job trains, so they are queued (or failed) at once. */
    private final Thread validator;
    private final ScheduledExecutorService mirror = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "align4j-job-events");
        t.setDaemon(true);
        return t;
    });
    private volatile boolean stopping;
    private volatile String current;
    /** When the current job's stage started, and at which step, for the finish estimate. */
    private volatile long startedNanos;
    private volatile long startStep = -1;

    public JobRunner(JobStore store, JobService jobs, FileService files, ModelCatalog catalog, Path dataDir,
                     PrintStream log) {
        this.store = store;
        this.jobs = jobs;
        this.files = files;
        this.catalog = catalog;
        this.dataDir = dataDir;
        this.log = log;
        this.thread = new Thread(this::loop, "align4j-job-runner");
        this.thread.setDaemon(true);
        this.validator = new Thread(this::validateLoop, "align4j-job-validator");
        this.validator.setDaemon(true);
        jobs.attach(this);
    }

    /** Registers every succeeded job's model and checkpoints, then starts the queue. */
    public JobRunner start() {
        for (Job j : store.withStatus(Job.SUCCEEDED)) {
            for (JobStore.Checkpoint c : store.checkpoints(j.id(), null, Integer.MAX_VALUE)) {
                register(c.modelId(), jobs.jobDir(j.id()).resolve(c.dir()), c.createdAt());
            }
            if (j.fineTunedModel() != null) {
                register(j.fineTunedModel(), new RunDirectory(jobs.jobDir(j.id())).finalDir(), j.finishedAt());
            }
        }
        validator.start();
        thread.start();
        return this;
    }

    private void register(String id, Path dir, Long created) {
        if (Files.isDirectory(dir)) {
            catalog.register(id, dir, "align4j", created == null ? Instant.now().getEpochSecond() : created);
        } else {
            log.println("align4j serve: " + id + ": its directory " + dir + " is gone; not served");
        }
    }

    public void wake() {
        synchronized (signal) {
            signal.notifyAll();
        }
    }

    private void validateLoop() {
        while (!stopping) {
            try {
                for (Job j : store.withStatus(Job.VALIDATING)) {
                    if (stopping) {
                        return;
                    }
                    validate(j);
                }
                synchronized (signal) {
                    signal.wait(1000);
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                log.println("align4j serve: job validation error:");
                e.printStackTrace(log);
            }
        }
    }

    private void loop() {
        while (!stopping) {
            try {
                List<Job> next = store.withStatus(Job.RUNNING);
                if (next.isEmpty()) {
                    next = store.withStatus(Job.QUEUED);
                }
                if (!next.isEmpty() && !stopping) {
                    run(next.get(0));
                    continue;
                }
                synchronized (signal) {
                    signal.wait(1000);
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                // a bug must not stop the queue silently: logged, and the loop goes on after a pause
                log.println("align4j serve: job runner error:");
                e.printStackTrace(log);
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    /** validating_files: the files are read again for the job's method and counted with its model's tokenizer. */
    private void validate(Job j) {
        ObjectNode spec = j.spec();
        JobRequest.Method method = JobRequest.Method.valueOf(j.method().toUpperCase(Locale.ROOT));
        ObjectNode settings = (ObjectNode) spec.get("settings");
        try {
            Path train = files.path(spec.get("training_file").asText());
            if (!Files.isRegularFile(train)) {
                throw new UserInputException("training file " + spec.get("training_file").asText() + " was deleted");
            }
            if (method == JobRequest.Method.REINFORCEMENT) {
                PromptSource.readItems(train);
                Path dir = jobs.jobDir(j.id());
                Files.createDirectories(dir);
                AtomicFiles.writeString(dir.resolve("grader.json"), Json.MAPPER.writerWithDefaultPrettyPrinter()
                        .writeValueAsString(spec.get("grader_resolved")));
            }
            Path model = Path.of(settings.get("model").asText());
            int context = FileService.contextLength(model);
            JsonNode ext = spec.path("extension_settings").path("max_length");
            int seqLen = ext.isInt() && ext.asInt() > 0 ? Math.min(ext.asInt(), context) : context;
            ValidationReport r = new Validator(FileService.encoder(new FileService.EstimateModel(spec.get("model")
                    .asText(), model, seqLen)), seqLen, null, null).validate(List.of(train));
            int epochs = settings.get("epochs").asInt();
            ObjectNode extension = j.extension().deepCopy();
            if (r.tokens() != null) {
                extension.put("billed_tokens_per_epoch", r.tokens().billedTokens());
                extension.put("estimated_training_tokens", r.estimatedTrainingTokens(epochs));
            }
            extension.put("training_records", r.validRecords());
            store.setExtension(j.id(), extension);
            if (store.moveStatus(j.id(), Job.VALIDATING, Job.QUEUED)) {
                store.addEvent(j.id(), "info", "message", "Files validated, moving job to queued state"
                        + (r.tokens() == null ? "" : String.format(" (estimate: %,d billed tokens per epoch x %d"
                        + " epochs = %,d training tokens)", r.tokens().billedTokens(), epochs,
                        r.estimatedTrainingTokens(epochs))), null);
                wake();
            }
        } catch (IOException | RuntimeException e) {
            fail(j.id(), e);
        }
    }

    private void run(Job j) {
        String id = j.id();
        if (j.status().equals(Job.QUEUED) && !store.moveStatus(id, Job.QUEUED, Job.RUNNING)) {
            return; // cancelled or paused meanwhile
        }
        RunDirectory run = new RunDirectory(jobs.jobDir(id));
        current = id;
        try {
            if (Files.isDirectory(run.root())) {
                run.clearCancel();
            }
            // a request that came before the stale cancel file was cleared is in the database
            Job now = store.find(id).orElseThrow();
            if (stopping) {
                return;
            }
            if (now.stopRequest() != null) {
                stopped(now, 0);
                return;
            }
            JobRequest.Method method = JobRequest.Method.valueOf(j.method().toUpperCase(Locale.ROOT));
            boolean resuming = run.exists();
            store.addEvent(id, "info", "message", resuming ? "Fine-tuning job resumed" : "Fine-tuning job started",
                    null);
            Map<String, JsonNode> flags = new LinkedHashMap<>();
            j.spec().get("settings").fields().forEachRemaining(e -> flags.put(e.getKey(), e.getValue()));
            StageConfig<?> cfg = Stages.resolve(method, (ObjectNode) j.spec().get("extension_settings"),
                    j.spec().path("extension_param").asText(), flags);
            Path logFile = dataDir.resolve("logs").resolve(id + ".log");
            Files.createDirectories(logFile.getParent());
            startedNanos = System.nanoTime();
            startStep = -1;
            var task = mirror.scheduleWithFixedDelay(() -> mirrorQuietly(id, run), 200, 200, TimeUnit.MILLISECONDS);
            LoopResult result;
            try (PrintStream stageLog = new PrintStream(new FileOutputStream(logFile.toFile(), true), true,
                    StandardCharsets.UTF_8)) {
                result = Stages.run(method, cfg, stageLog);
            } finally {
                task.cancel(false);
                mirrorQuietly(id, run);
            }
            Job after = store.find(id).orElseThrow();
            if (result.status() == RunDirectory.Status.SUCCEEDED) {
                succeed(after, run, result);
            } else if (result.status() == RunDirectory.Status.CANCELLED) {
                stopped(after, result.step());
            } else {
                fail(id, new TrainingFailure(result.message()));
            }
        } catch (Exception e) {
            mirrorQuietly(id, run);
            fail(id, e);
        } finally {
            current = null;
        }
    }

    /** The stage stopped on a cancel request: the client's (cancel, pause), or the server's own shutdown. */
    private void stopped(Job j, long step) {
        String request = j.stopRequest();
        if ("pause".equals(request)) {
            store.setStopRequest(j.id(), null);
            store.moveStatus(j.id(), Job.RUNNING, Job.PAUSED);
            store.setEstimatedFinish(j.id(), null);
            store.addEvent(j.id(), "info", "message", "Job paused" + (step > 0 ? " at step " + step
                    + " (checkpoint saved)" : ""), null);
        } else if ("cancel".equals(request) || !stopping) {
            store.finish(j.id(), Job.CANCELLED, null, null, null);
            store.addEvent(j.id(), "info", "message", "Job cancelled" + (step > 0 ? " at step " + step : ""), null);
        } else {
            store.addEvent(j.id(), "info", "message", "Server stopping: job checkpointed at step " + step
                    + "; it resumes when the server starts again", null);
        }
    }

    private void succeed(Job j, RunDirectory run, LoopResult result) throws IOException {
        String base = j.spec().get("model").asText();
        String suffix = j.spec().path("suffix").asText("");
        String model = "ft:" + base + ":" + (j.spec().path("suffix").isNull() ? "" : suffix) + ":" + j.id();
        long now = Instant.now().getEpochSecond();
        Map<Long, JsonNode> rows = new LinkedHashMap<>();
        for (JsonNode row : run.metrics()) {
            rows.put(row.path("step").asLong(), row);
        }
        Checkpoints checkpoints = new Checkpoints(run);
        for (Path dir : checkpoints.list()) {
            long step = Long.parseLong(dir.getFileName().toString().substring("step-".length()));
            checkpoint(j, model, step, "checkpoints/" + dir.getFileName(), rows.get(step), now);
        }
        checkpoint(j, model, result.step(), "final", rows.get(result.step()), now);
        catalog.register(model, run.finalDir(), "align4j", now);
        Long tokens = j.extension().has("estimated_training_tokens") ? j.extension().get("estimated_training_tokens")
                .asLong() : null;
        store.finish(j.id(), Job.SUCCEEDED, model, tokens, null);
        store.addEvent(j.id(), "info", "message", "New fine-tuned model created: " + model, null);
        store.addEvent(j.id(), "info", "message", "The job has successfully completed", null);
    }

    private void checkpoint(Job j, String model, long step, String dir, JsonNode row, long now) {
        String id = model + ":ckpt-step-" + step;
        ObjectNode metrics = EventMirror.openAiMetrics(row, step, true);
        store.addCheckpoint(new JobStore.Checkpoint(Ids.next(Ids.CHECKPOINT), j.id(), step, now, id, dir, metrics));
        catalog.register(id, jobs.jobDir(j.id()).resolve(dir), "align4j", now);
        store.addEvent(j.id(), "info", "message", "Checkpoint created at step " + step, null);
    }

    /** Records the failure as OpenAI's error object; a user's problem says what, a bug says only that. */
    private void fail(String id, Exception e) {
        ObjectNode error = Json.MAPPER.createObjectNode();
        Job j = store.find(id).orElseThrow();
        String message = redact(j, String.valueOf(e.getMessage()));
        String trainingPath = files.path(j.spec().get("training_file").asText()).toAbsolutePath().toString();
        String validation = j.spec().path("validation_file").asText(null);
        String raw = String.valueOf(e.getMessage());
        if (e instanceof TrainingFailure) {
            error.put("code", "training_failed");
            error.putNull("param");
        } else if (e instanceof UserInputException || e instanceof DataException || e instanceof IOException) {
            boolean val = validation != null && raw.contains(files.path(validation).toAbsolutePath().toString());
            boolean train = raw.contains(trainingPath);
            error.put("code", val ? "invalid_validation_file" : train ? "invalid_training_file" : "invalid_job");
            error.put("param", val ? "validation_file" : train ? "training_file" : null);
        } else {
            log.println("align4j serve: job " + id + " failed with an internal error:");
            e.printStackTrace(log);
            error.put("code", "server_error");
            error.putNull("param");
            message = "The job failed because of an error in align4j; the server's log has the details.";
        }
        error.put("message", message);
        store.finish(id, Job.FAILED, null, null, error);
        store.addEvent(id, "error", "message", "Job failed: " + message, null);
    }

    /** A message without server paths: files by the client's name and id, the data directory as $DATA_DIR. */
    private String redact(Job j, String message) {
        for (String field : List.of("training_file", "validation_file")) {
            String fid = j.spec().path(field).asText(null);
            if (fid != null && Ids.valid(Ids.FILE, fid)) {
                String name = files.find(fid).map(StoredFile::filename).orElse(fid);
                message = message.replace(files.path(fid).toAbsolutePath().toString(), name + " (" + fid + ")");
            }
        }
        return message.replace(dataDir.toAbsolutePath().toString(), "$DATA_DIR")
                .replace(Path.of(j.spec().path("settings").path("model").asText("-")).toString(),
                        j.spec().path("model").asText());
    }

    private void mirrorQuietly(String id, RunDirectory run) {
        try {
            mirror(id, run);
        } catch (IOException | RuntimeException e) {
            log.println("align4j serve: mirroring the events of " + id + ": " + e.getMessage());
        }
    }

    /**
     * Copies new metric rows and run events into the job's events, and updates the finish estimate.
     * Rows carry no time: the run's own progress events go first, then the steps, then the event
     * that ended the run (succeeded, failed, cancelled), which the loop writes after its last row.
     */
    private synchronized void mirror(String id, RunDirectory run) throws IOException {
        Job j = store.find(id).orElseThrow();
        List<JsonNode> events = run.events();
        int from = (int) Math.min(j.mirroredRunEvents(), events.size());
        int to = from;
        while (to < events.size() && !ending(events.get(to))) {
            to++;
        }
        long total = mirrorEvents(j, events.subList(from, to));
        long step = j.mirroredStep();
        for (RunDirectory.Row row : run.metricRows()) {
            long s = row.json().path("step").asLong();
            if (s <= step) {
                continue;
            }
            ObjectNode data = EventMirror.openAiMetrics(row.json(), s, false);
            data.put("total_steps", total);
            store.addEvent(id, "info", "metrics", EventMirror.message(data, total), data);
            step = s;
            if (startStep < 0) {
                startStep = s - 1;
                startedNanos = System.nanoTime() - 1;
            }
        }
        mirrorEvents(store.find(id).orElseThrow(), events.subList(to, events.size()));
        store.setMirrored(id, step, events.size());
        if (total > 0 && step > startStep && startStep >= 0 && step < total) {
            double perStep = (System.nanoTime() - startedNanos) / 1e9 / (step - startStep);
            store.setEstimatedFinish(id, Instant.now().getEpochSecond() + (long) Math.ceil(perStep * (total - step)));
        }
    }

    private static boolean ending(JsonNode event) {
        String status = event.path("status").asText();
        return status.equals("succeeded") || status.equals("failed") || status.equals("cancelled");
    }

    /** Run events as message events; returns the run's total steps, read from its start event when present. */
    private long mirrorEvents(Job j, List<JsonNode> events) {
        long total = j.extension().path("total_steps").asLong(0);
        for (JsonNode e : events) {
            String message = redact(j, e.path("message").asText());
            Matcher m = TOTAL_STEPS.matcher(message);
            if (m.find()) {
                total = Long.parseLong(m.group(1));
                ObjectNode ext = store.find(j.id()).orElseThrow().extension().deepCopy();
                ext.put("total_steps", total);
                store.setExtension(j.id(), ext);
            }
            String status = e.path("status").asText();
            store.addEvent(j.id(), status.equals("failed") ? "error" : status.equals("cancelled") ? "warn" : "info",
                    "message", "Run: " + message, null);
        }
        return total;
    }

    /** Asks the running stage to checkpoint and stop, and waits for the runner to finish. */
    @Override
    public void close() {
        stopping = true;
        String running = current;
        if (running != null) {
            try {
                Files.createDirectories(jobs.jobDir(running));
                new RunDirectory(jobs.jobDir(running)).requestCancel();
            } catch (IOException e) {
                log.println("align4j serve: could not ask job " + running + " to stop: " + e.getMessage());
            }
        }
        wake();
        try {
            thread.join(TimeUnit.MINUTES.toMillis(10));
            validator.join(TimeUnit.MINUTES.toMillis(1));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        mirror.shutdownNow();
    }
}
