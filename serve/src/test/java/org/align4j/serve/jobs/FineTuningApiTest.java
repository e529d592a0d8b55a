package org.align4j.serve.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.errors.NotFoundException;
import com.openai.models.files.FileCreateParams;
import com.openai.models.files.FileObject;
import com.openai.models.files.FilePurpose;
import com.openai.models.finetuning.jobs.FineTuningJob;
import com.openai.models.finetuning.jobs.FineTuningJobEvent;
import com.openai.models.finetuning.jobs.JobCreateParams;
import com.openai.models.finetuning.jobs.checkpoints.FineTuningJobCheckpoint;
import com.openai.models.finetuning.methods.DpoHyperparameters;
import com.openai.models.finetuning.methods.DpoMethod;
import com.openai.models.finetuning.methods.SupervisedHyperparameters;
import com.openai.models.finetuning.methods.SupervisedMethod;

import org.align4j.core.backend.Backend;
import org.align4j.core.util.Json;
import org.align4j.serve.ModelCatalog;
import org.align4j.serve.Routes;
import org.align4j.serve.ServeConfig;
import org.align4j.serve.Server;
import org.align4j.sft.SftOptions;
import org.align4j.sft.SftTrainer;
import org.align4j.train.StageConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The files and fine-tuning API driven by OpenAI's own Java SDK against the server on port 0,
 * with examples/base-model served: what the SDK parses is what OpenAI's clients get.
 */
class FineTuningApiTest {

    static final Path BASE = Path.of("../examples/base-model").toAbsolutePath().normalize();
    static final String KEY = "sk-test";

    @TempDir
    Path dir;

    private final ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
    private final PrintStream log = new PrintStream(logBytes, true);
    private final HttpClient http = HttpClient.newHttpClient();
    private ModelCatalog catalog;
    private Server server;
    private OpenAIClient client;

    private Server start(long maxUpload) {
        catalog = new ModelCatalog();
        catalog.register("base-model", BASE, "align4j", 0);
        ServeConfig cfg = new ServeConfig(List.of(new ServeConfig.NamedModel("base-model", BASE)), "127.0.0.1", 0,
                dir.resolve("data"), KEY, 1 << 20, maxUpload);
        List<Routes> features = List.of(FineTuning.of(cfg, catalog, log));
        server = new Server(cfg, features, log).start();
        client = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + server.port() + "/v1").apiKey(KEY)
                .build();
        return server;
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    /** The first {@code n} chats of the EmojiBot example. */
    private Path sftData(int n) throws Exception {
        List<String> lines = Files.readAllLines(Path.of("../examples/emojibot/train.jsonl")).subList(0, n);
        Path f = dir.resolve("emoji-" + n + ".jsonl");
        Files.write(f, lines);
        return f;
    }

    private FileObject upload(Path f) {
        return client.files().create(FileCreateParams.builder().file(f).purpose(FilePurpose.FINE_TUNE).build());
    }

    private static JsonValue extension(Map<String, Object> settings) {
        return JsonValue.from(settings);
    }

    private FineTuningJob supervised(String fileId, int epochs, int batch, Map<String, Object> align4j) {
        return supervised(fileId, null, epochs, batch, align4j);
    }

    private FineTuningJob supervised(String fileId, String validationId, int epochs, int batch,
                                     Map<String, Object> align4j) {
        SupervisedHyperparameters hp = SupervisedHyperparameters.builder().nEpochs(epochs).batchSize(batch)
                .learningRateMultiplier(10.0).putAdditionalProperty("align4j", extension(align4j)).build();
        JobCreateParams.Builder b = JobCreateParams.builder();
        if (validationId != null) {
            b.validationFile(validationId);
        }
        return client.fineTuning().jobs().create(b.model("base-model").trainingFile(fileId)
                .suffix("emoji").seed(7L).method(JobCreateParams.Method.builder()
                        .type(JobCreateParams.Method.Type.SUPERVISED)
                        .supervised(SupervisedMethod.builder().hyperparameters(hp).build()).build()).build());
    }

    private FineTuningJob waitFor(String id, Set<String> statuses) throws Exception {
        long deadline = System.nanoTime() + 180_000_000_000L;
        while (System.nanoTime() < deadline) {
            FineTuningJob j = client.fineTuning().jobs().retrieve(id);
            if (statuses.contains(j.status().asString())) {
                return j;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("job " + id + " never reached " + statuses + "; log:\n" + logBytes);
    }

    private List<FineTuningJobEvent> events(String id) {
        List<FineTuningJobEvent> all = new ArrayList<>();
        client.fineTuning().jobs().listEvents(id).autoPager().forEach(all::add);
        return all;
    }

    @Test
    void supervisedJobTrainsFollowsEventsAndServesItsModelAndCheckpoints() throws Exception {
        start(1 << 20);
        FileObject f = upload(sftData(8));
        assertEquals(FileObject.Status.PROCESSED, f.status());
        assertEquals("emoji-8.jsonl", f.filename());
        JsonValue ext = f._additionalProperties().get("align4j");
        assertNotNull(ext, "the file object carries align4j's estimate");
        JsonNode estimate = Json.MAPPER.readTree(Json.MAPPER.writeValueAsString(ext));
        assertEquals(8, estimate.get("valid_records").asInt());
        assertEquals(12, estimate.get("suggested_epochs").asInt(), "OpenAI's rule: 100 / 8 examples");
        assertEquals(estimate.get("billed_tokens_per_epoch").asLong() * 12,
                estimate.get("estimated_training_tokens").asLong());
        assertEquals(f.id(), client.files().retrieve(f.id()).id());
        assertTrue(client.files().list().data().stream().anyMatch(x -> x.id().equals(f.id())));

        List<String> valLines = Files.readAllLines(Path.of("../examples/emojibot/val.jsonl")).subList(0, 4);
        Path valPath = dir.resolve("emoji-val.jsonl");
        Files.write(valPath, valLines);
        FileObject val = upload(valPath);
        FineTuningJob job = supervised(f.id(), val.id(), 2, 4, Map.of("max_length", 64));
        assertEquals(val.id(), job.validationFile().orElseThrow());
        assertEquals("base-model", job.model());
        assertEquals(7L, job.seed());
        FineTuningJob done = waitFor(job.id(), Set.of("succeeded", "failed", "cancelled"));
        assertEquals("succeeded", done.status().asString(), "log:\n" + logBytes + "\nerror: " + done.error());
        String model = "ft:base-model:emoji:" + job.id();
        assertEquals(model, done.fineTunedModel().orElseThrow());
        assertTrue(done.finishedAt().isPresent());
        assertTrue(done.trainedTokens().orElseThrow() > 0);
        assertEquals(2L, done.hyperparameters().nEpochs().orElseThrow().integer().orElseThrow().longValue());

        // events: newest first, the last one the success; one metrics event per step with OpenAI's names
        List<FineTuningJobEvent> events = events(job.id());
        assertEquals("The job has successfully completed", events.get(0).message());
        List<FineTuningJobEvent> metrics = events.stream().filter(e -> e.type().orElseThrow().asString()
                .equals("metrics")).toList();
        assertEquals(4, metrics.size(), "8 records, batch 4, 2 epochs");
        List<String> messages = events.stream().map(FineTuningJobEvent::message).toList();
        int lastStep = messages.indexOf(metrics.get(0).message());
        int finalModel = messages.indexOf(messages.stream().filter(m -> m.startsWith("Run: final model in $DATA_DIR/"))
                .findFirst().orElseThrow());
        assertTrue(finalModel < lastStep, "the run's end comes after its last step: " + messages);
        Path run = dir.resolve("data/jobs/" + job.id());
        List<JsonNode> rows = new org.align4j.core.run.RunDirectory(run).metrics();
        JsonNode lastData = Json.MAPPER.readTree(Json.MAPPER.writeValueAsString(metrics.get(0)._data()));
        assertEquals(4, lastData.get("step").asInt());
        assertEquals(rows.get(3).get("loss").asDouble(), lastData.get("train_loss").asDouble(), 0.0);
        assertEquals(rows.get(3).get("mean_token_accuracy").asDouble(),
                lastData.get("train_mean_token_accuracy").asDouble(), 0.0);
        // pagination: two at a time, newest first, the same events
        var page = client.fineTuning().jobs().listEvents(com.openai.models.finetuning.jobs.JobListEventsParams
                .builder().fineTuningJobId(job.id()).limit(2L).build());
        assertEquals(2, page.data().size());
        assertTrue(page.hasNextPage());
        assertEquals(events.get(1).id(), page.data().get(1).id());

        // checkpoints: the kept ones and the final step, newest first, servable
        List<FineTuningJobCheckpoint> cps = client.fineTuning().jobs().checkpoints().list(job.id()).data();
        assertEquals(List.of(4L, 3L, 2L), cps.stream().map(FineTuningJobCheckpoint::stepNumber).toList());
        assertEquals(model + ":ckpt-step-4", cps.get(0).fineTunedModelCheckpoint());
        assertEquals(rows.get(3).get("loss").asDouble(), cps.get(0).metrics().trainLoss().orElseThrow(), 0.0);
        assertEquals(rows.get(3).get("val_loss").asDouble(), cps.get(0).metrics().validLoss().orElseThrow(), 0.0);
        assertEquals(rows.get(3).get("val_loss").asDouble(), cps.get(0).metrics().fullValidLoss().orElseThrow(), 0.0);
        assertEquals(rows.get(3).get("val_mean_token_accuracy").asDouble(),
                cps.get(0).metrics().validMeanTokenAccuracy().orElseThrow(), 0.0);
        assertEquals(rows.get(3).get("val_loss").asDouble(), lastData.get("valid_loss").asDouble(), 0.0);
        assertTrue(catalog.find(model).isPresent());
        assertTrue(Files.isRegularFile(catalog.find(model).get().dir().resolve("model.safetensors")));
        assertTrue(catalog.find(model + ":ckpt-step-3").isPresent());

        // a restarted server serves the job's model and checkpoints again
        server.close();
        server = null;
        start(1 << 20);
        assertTrue(catalog.find(model).isPresent());
        assertTrue(catalog.find(model + ":ckpt-step-2").isPresent());
        assertEquals("succeeded", client.fineTuning().jobs().retrieve(job.id()).status().asString());

        // the file reads back byte for byte, and is deleted once no unfinished job reads it
        try (var content = client.files().content(f.id())) {
            assertArrayEquals(Files.readAllBytes(dir.resolve("emoji-8.jsonl")), content.body().readAllBytes());
        }
        assertTrue(client.files().delete(f.id()).deleted());
        assertThrows(NotFoundException.class, () -> client.files().retrieve(f.id()));

        // cancelling a finished job is a conflict
        HttpResponse<String> conflict = post("/v1/fine_tuning/jobs/" + job.id() + "/cancel", "{}");
        assertEquals(409, conflict.statusCode());
    }

    @Test
    void aDpoJobTrainsOnOpenAisPreferenceFormat() throws Exception {
        start(1 << 20);
        StringBuilder b = new StringBuilder();
        String[][] pairs = {{"The sun is shining!", "(sun)", "(rain)"}, {"I lost my keys.", "(facepalm)", "(party)"},
                {"Pizza tonight?", "(pizza)", "(no)"}, {"Good night!", "(moon)", "(sun)"}};
        for (String[] p : pairs) {
            b.append("{\"input\": {\"messages\": [{\"role\": \"user\", \"content\": \"").append(p[0])
                    .append("\"}]}, \"preferred_output\": [{\"role\": \"assistant\", \"content\": \"").append(p[1])
                    .append("\"}], \"non_preferred_output\": [{\"role\": \"assistant\", \"content\": \"").append(p[2])
                    .append("\"}]}\n");
        }
        Path f = dir.resolve("dpo.jsonl");
        Files.writeString(f, b.toString());
        FileObject file = upload(f);
        assertEquals(FileObject.Status.PROCESSED, file.status(), file.statusDetails().orElse(""));
        FineTuningJob job = client.fineTuning().jobs().create(JobCreateParams.builder().model("base-model")
                .trainingFile(file.id()).method(JobCreateParams.Method.builder().type(JobCreateParams.Method.Type.DPO)
                        .dpo(DpoMethod.builder().hyperparameters(DpoHyperparameters.builder().beta(0.2).nEpochs(1)
                                .batchSize(2).putAdditionalProperty("align4j", extension(Map.of("max_length", 48)))
                                .build()).build()).build()).build());
        FineTuningJob done = waitFor(job.id(), Set.of("succeeded", "failed", "cancelled"));
        assertEquals("succeeded", done.status().asString(), "log:\n" + logBytes + "\nerror: " + done.error());
        assertEquals(0.2, done.method().orElseThrow().dpo().orElseThrow().hyperparameters().orElseThrow().beta()
                .orElseThrow().number().orElseThrow(), 0.0);
        // the run is an ordinary DPO run: its config says beta 0.2, its metrics DPO's
        JsonNode config = Json.MAPPER.readTree(dir.resolve("data/jobs/" + job.id() + "/config.json").toFile());
        assertEquals(0.2, config.get("beta").asDouble(), 0.0);
        assertTrue(new org.align4j.core.run.RunDirectory(dir.resolve("data/jobs/" + job.id())).metrics().get(0)
                .has("rewards/margins"));
        assertTrue(catalog.find(done.fineTunedModel().orElseThrow()).isPresent());
    }

    @Test
    void aCancelStopsTheJobWithACheckpoint() throws Exception {
        start(1 << 20);
        FileObject f = upload(sftData(16));
        FineTuningJob job = supervised(f.id(), 25, 1, Map.of("max_length", 64, "save_every", 1));
        Path run = dir.resolve("data/jobs/" + job.id());
        waitForCheckpoint(run);
        HttpResponse<String> inUse = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port()
                + "/v1/files/" + f.id())).header("Authorization", "Bearer " + KEY).DELETE().build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(409, inUse.statusCode(), "a running job's training file is kept");
        FineTuningJob asked = client.fineTuning().jobs().cancel(job.id());
        assertTrue(Set.of("running", "cancelled").contains(asked.status().asString()));
        FineTuningJob done = waitFor(job.id(), Set.of("succeeded", "failed", "cancelled"));
        assertEquals("cancelled", done.status().asString());
        assertFalse(done.fineTunedModel().isPresent());
        assertTrue(events(job.id()).stream().anyMatch(e -> e.message().startsWith("Job cancelled at step")));
        assertEquals(409, post("/v1/fine_tuning/jobs/" + job.id() + "/cancel", "{}").statusCode());
        assertEquals(409, post("/v1/fine_tuning/jobs/" + job.id() + "/resume", "{}").statusCode());
    }

    @Test
    void pauseThenResumeContinuesFromTheCheckpointToSuccess() throws Exception {
        start(1 << 20);
        FileObject f = upload(sftData(8));
        FineTuningJob job = supervised(f.id(), 2, 1, Map.of("max_length", 64, "save_every", 2));
        FineTuningJob other = supervised(f.id(), 1, 8, Map.of("max_length", 64));
        waitForCheckpoint(dir.resolve("data/jobs/" + job.id()));
        client.fineTuning().jobs().pause(job.id());
        FineTuningJob paused = waitFor(job.id(), Set.of("paused", "succeeded", "failed"));
        assertEquals("paused", paused.status().asString());
        // the queue moves on while the first job is paused
        assertEquals("succeeded", waitFor(other.id(), Set.of("succeeded", "failed", "cancelled")).status().asString());
        assertEquals(409, post("/v1/fine_tuning/jobs/" + other.id() + "/pause", "{}").statusCode());
        client.fineTuning().jobs().resume(job.id());
        FineTuningJob done = waitFor(job.id(), Set.of("succeeded", "failed", "cancelled"));
        assertEquals("succeeded", done.status().asString(), "log:\n" + logBytes);
        List<String> messages = events(job.id()).stream().map(FineTuningJobEvent::message).toList();
        assertTrue(messages.stream().anyMatch(m -> m.startsWith("Job paused at step")), messages.toString());
        assertTrue(messages.stream().anyMatch(m -> m.startsWith("Run: resumed from step-")), messages.toString());
        // one metrics event per step, none twice although the run resumed
        assertEquals(16, messages.stream().filter(m -> m.startsWith("Step ")).count());

        // jobs list newest first, paginated with after/limit
        var first = client.fineTuning().jobs().list(com.openai.models.finetuning.jobs.JobListParams.builder().limit(1L)
                .build());
        assertEquals(List.of(other.id()), first.data().stream().map(FineTuningJob::id).toList());
        assertTrue(first.hasNextPage());
        assertEquals(List.of(job.id()), first.nextPage().data().stream().map(FineTuningJob::id).toList());
    }

    @Test
    void aReinforcementJobTrainsAgainstAStringCheckGrader() throws Exception {
        start(1 << 20);
        // prompt-only chats with a reference answer beside them, as OpenAI's reinforcement files
        StringBuilder b = new StringBuilder();
        String[][] rows = {{"The sun is shining!", "(sun)"}, {"Pizza tonight?", "(pizza)"}, {"Good night!", "(moon)"},
                {"I lost my keys.", "(facepalm)"}};
        for (String[] r : rows) {
            b.append("{\"messages\": [{\"role\": \"user\", \"content\": \"").append(r[0])
                    .append("\"}], \"reference_answer\": \"").append(r[1]).append("\"}\n");
        }
        Path f = dir.resolve("rft.jsonl");
        Files.writeString(f, b.toString());
        FileObject file = upload(f);
        String body = "{\"model\": \"base-model\", \"training_file\": \"" + file.id() + "\", \"seed\": 3,"
                + " \"method\": {\"type\": \"reinforcement\", \"reinforcement\": {\"grader\": {\"type\": \"string_check\","
                + " \"name\": \"exact\", \"input\": \"{{sample.output_text}}\", \"reference\": \"{{item.reference_answer}}\","
                + " \"operation\": \"eq\"}, \"hyperparameters\": {\"n_epochs\": 1, \"batch_size\": 2, \"align4j\":"
                + " {\"max_new_tokens\": 4, \"samples_per_prompt\": 2, \"max_length\": 48}}}}}";
        HttpResponse<String> created = post("/v1/fine_tuning/jobs", body);
        assertEquals(200, created.statusCode(), created.body());
        String id = Json.MAPPER.readTree(created.body()).get("id").asText();
        FineTuningJob done = waitFor(id, Set.of("succeeded", "failed", "cancelled"));
        assertEquals("succeeded", done.status().asString(), "log:\n" + logBytes + "\nerror: " + done.error());
        assertEquals("string_check", done.method().orElseThrow().reinforcement().orElseThrow().grader().isStringCheck()
                ? "string_check" : "other");
        JsonNode config = Json.MAPPER.readTree(dir.resolve("data/jobs/" + id + "/config.json").toFile());
        assertEquals("grpo", config.get("estimator").asText());
        assertEquals(2, config.get("samples_per_prompt").asInt());
        assertTrue(catalog.find(done.fineTunedModel().orElseThrow()).isPresent());
    }

    private static void waitForCheckpoint(Path run) throws Exception {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (Files.isDirectory(run.resolve("checkpoints/step-2"))) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no checkpoint in " + run);
    }

    @Test
    void aServerRestartInTheMiddleOfAJobResumesToTheSameWeights() throws Exception {
        start(1 << 20);
        FileObject f = upload(sftData(16));
        FineTuningJob job = supervised(f.id(), 2, 2, Map.of("max_length", 64, "save_every", 2));
        Path run = dir.resolve("data/jobs/" + job.id());
        waitForCheckpoint(run);
        server.close();
        server = null;
        assertTrue(Files.isRegularFile(run.resolve("events.jsonl")));
        FineTuningJob stopped = null;
        start(1 << 20);
        stopped = client.fineTuning().jobs().retrieve(job.id());
        assertTrue(Set.of("running", "succeeded").contains(stopped.status().asString()), stopped.status().asString());
        FineTuningJob done = waitFor(job.id(), Set.of("succeeded", "failed", "cancelled"));
        assertEquals("succeeded", done.status().asString(), "log:\n" + logBytes);
        List<String> messages = events(job.id()).stream().map(FineTuningJobEvent::message).toList();
        assertTrue(messages.stream().anyMatch(m -> m.startsWith("Server stopping: job checkpointed at step")), messages
                .toString());
        assertTrue(messages.contains("Fine-tuning job resumed"), messages.toString());

        // the oracle: the same settings run straight through by the SFT stage's own entry point
        ObjectNode spec = (ObjectNode) Json.MAPPER.readTree(dir.resolve("data").resolve("align4j.db").toFile().exists()
                ? jobSettings(job.id()) : "{}");
        Map<String, JsonNode> flags = new LinkedHashMap<>();
        spec.fields().forEachRemaining(e -> flags.put(e.getKey(), e.getValue()));
        flags.put("output_dir", Json.MAPPER.valueToTree(dir.resolve("straight").toString()));
        ObjectNode ext = Json.MAPPER.createObjectNode().put("max_length", 64).put("save_every", 2);
        StageConfig<SftOptions> cfg = StageConfig.resolve(SftOptions.defaultSettings(), SftOptions.class, ext, "test",
                flags, true);
        SftTrainer.run(cfg, Backend.get().kernels(), log, false);
        assertArrayEquals(Files.readAllBytes(dir.resolve("straight/final/model.safetensors")),
                Files.readAllBytes(run.resolve("final/model.safetensors")),
                "a job stopped by a server restart ends with the uninterrupted run's weights");
    }

    private String jobSettings(String id) throws Exception {
        try (var c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("data/align4j.db"));
             var rs = c.createStatement().executeQuery("SELECT spec FROM jobs WHERE id = '" + id + "'")) {
            return Json.MAPPER.readTree(rs.getString(1)).get("settings").toString();
        }
    }

    @Test
    void oneServerWritesADataDirectory() {
        start(1 << 20);
        ServeConfig same = new ServeConfig(List.of(), "127.0.0.1", 0, dir.resolve("data"), KEY, 1 << 20, 1 << 20);
        Server second = new Server(same, List.of(FineTuning.of(same, new ModelCatalog(), log)), log);
        RuntimeException e = assertThrows(RuntimeException.class, second::start);
        String messages = "";
        for (Throwable t = e; t != null; t = t.getCause()) {
            messages += t.getMessage() + "\n";
        }
        assertTrue(messages.contains("in use by another align4j writer"), messages);
        second.close();
        assertTrue(Files.isRegularFile(dir.resolve("data/align4j.db")));
    }

    private HttpResponse<String> post(String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .header("Authorization", "Bearer " + KEY).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private JsonNode error(HttpResponse<String> r) throws Exception {
        return Json.MAPPER.readTree(r.body()).get("error");
    }

    @Test
    void badRequestsGetOpenAisErrorShapeAndStatus() throws Exception {
        start(4096);
        // a file that fails validation: status error with FILE:LINE messages
        Path bad = dir.resolve("bad.jsonl");
        Files.writeString(bad, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\","
                + " \"content\": \"(wave)\"}]}\n{\"messages\": [{\"role\": \"robot\", \"content\": \"hi\"}]}\n");
        FileObject f = upload(bad);
        assertEquals(FileObject.Status.ERROR, f.status());
        String details = f.statusDetails().orElseThrow();
        assertTrue(details.startsWith("bad.jsonl:2: "), details);
        assertTrue(details.contains("messages[0].role 'robot'"), details);
        // a job on it is refused, naming the field
        HttpResponse<String> r = post("/v1/fine_tuning/jobs", "{\"model\": \"base-model\", \"training_file\": \""
                + f.id() + "\"}");
        assertEquals(400, r.statusCode());
        assertEquals("training_file", error(r).get("param").asText());

        // unknown ids: 404 through the SDK and by hand
        assertThrows(NotFoundException.class, () -> client.files().retrieve("file-AAAAAAAAAAAAAAAAAAAAAAAA"));
        assertThrows(NotFoundException.class, () -> client.fineTuning().jobs().retrieve("ftjob-AAAAAAAAAAAAAAAAAAAAAAAA"));
        assertThrows(NotFoundException.class, () -> client.files().retrieve("..%2F..%2Fetc%2Fpasswd"));
        HttpResponse<String> unknownFile = post("/v1/fine_tuning/jobs", "{\"model\": \"base-model\","
                + " \"training_file\": \"file-AAAAAAAAAAAAAAAAAAAAAAAA\"}");
        assertEquals(404, unknownFile.statusCode());
        assertEquals("training_file", error(unknownFile).get("param").asText());
        HttpResponse<String> unknownModel = post("/v1/fine_tuning/jobs", "{\"model\": \"gpt-9\", \"training_file\": \""
                + f.id() + "\"}");
        assertEquals(404, unknownModel.statusCode());
        assertEquals("model", error(unknownModel).get("param").asText());

        // wrong types name the param
        Path good = sftData(4);
        FileObject ok = upload(good);
        String[][] cases = {
                {"{\"model\": 3, \"training_file\": \"" + ok.id() + "\"}", "model"},
                {"{\"model\": \"base-model\", \"training_file\": \"" + ok.id() + "\", \"seed\": \"x\"}", "seed"},
                {"{\"model\": \"base-model\", \"training_file\": \"" + ok.id() + "\", \"method\": {\"type\": \"supervised\","
                        + " \"supervised\": {\"hyperparameters\": {\"n_epochs\": \"many\"}}}}",
                        "method.supervised.hyperparameters.n_epochs"},
                {"{\"model\": \"base-model\", \"training_file\": \"" + ok.id() + "\", \"method\": {\"type\": \"dpo\"}}",
                        "training_file"},
                {"{\"model\": \"base-model\", \"training_file\": \"" + ok.id() + "\", \"hyperparameters\": {\"align4j\":"
                        + " {\"max_grad_norm\": -1}}}", "hyperparameters.align4j.max_grad_norm"},
                {"{\"model\": \"base-model\", \"training_file\": \"" + ok.id() + "\", \"hyperparameters\": {\"align4j\":"
                        + " {\"warmup_stepz\": 1}}}", "hyperparameters.align4j.warmup_stepz"},
                {"{\"model\": \"base-model\", \"training_file\": \"" + ok.id() + "\", \"hyperparameters\": {\"align4j\":"
                        + " {\"ref_model\": \"/etc\"}}}", "hyperparameters.align4j.ref_model"},
                {"{\"model\": \"base-model\", \"training_file\": \"" + ok.id() + "\", \"method\": {\"type\":"
                        + " \"reinforcement\", \"reinforcement\": {\"grader\": {\"type\": \"python\", \"name\": \"p\","
                        + " \"source\": \"def grade(s, i): return 1\"}}}}", "method.reinforcement.grader"},
                {"{\"model\": \"base-model\", \"training_file\": \"" + ok.id() + "\", \"suffix\": \"a:b\"}", "suffix"},
        };
        for (String[] c : cases) {
            HttpResponse<String> resp = post("/v1/fine_tuning/jobs", c[0]);
            assertEquals(400, resp.statusCode(), c[0] + " -> " + resp.body());
            JsonNode e = error(resp);
            assertEquals(c[1], e.get("param").asText(), resp.body());
            assertEquals("invalid_request_error", e.get("type").asText());
            assertFalse(e.get("message").asText().contains("Exception"), resp.body());
        }
        assertTrue(error(post("/v1/fine_tuning/jobs", cases[7][0])).get("message").asText().contains("python"));
        HttpResponse<String> malformed = post("/v1/fine_tuning/jobs", "{\"model\": ");
        assertEquals(400, malformed.statusCode());

        // an oversized upload: 413 in OpenAI's shape
        Path big = dir.resolve("big.jsonl");
        Files.writeString(big, ("{\"text\": \"" + "x".repeat(200) + "\"}\n").repeat(100));
        var e413 = assertThrows(com.openai.errors.OpenAIServiceException.class, () -> upload(big));
        assertEquals(413, e413.statusCode(), logBytes.toString());

        // a failed stage: status failed with an error object (no example has a trained token within 4 tokens)
        FineTuningJob failing = supervised(ok.id(), 1, 2, Map.of("max_length", 4));
        FineTuningJob failed = waitFor(failing.id(), Set.of("succeeded", "failed", "cancelled"));
        assertEquals("failed", failed.status().asString());
        FineTuningJob.Error err = failed.error().orElseThrow();
        assertEquals("training_file", err.param().orElseThrow());
        assertTrue(err.message().contains("emoji-4.jsonl (" + ok.id() + ")"), err.message());
        assertFalse(err.message().contains(dir.toString()), err.message());
        assertEquals(409, post("/v1/fine_tuning/jobs/" + failing.id() + "/cancel", "{}").statusCode());
    }
}
