package org.align4j.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.files.FileCreateParams;
import com.openai.models.files.FileObject;
import com.openai.models.files.FilePurpose;
import com.openai.models.finetuning.jobs.FineTuningJob;
import com.openai.models.finetuning.jobs.JobCreateParams;
import com.openai.models.finetuning.jobs.checkpoints.FineTuningJobCheckpoint;
import com.openai.models.finetuning.methods.SupervisedHyperparameters;
import com.openai.models.finetuning.methods.SupervisedMethod;
import com.openai.models.models.Model;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import org.align4j.core.backend.Backend;
import org.align4j.core.chat.ChatMessage;
import org.align4j.core.chat.ChatTemplate;
import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.generate.Generation;
import org.align4j.core.generate.Generator;
import org.align4j.core.generate.SamplingConfig;
import org.align4j.core.kernels.CpuKernels;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.run.RunDirectory;
import org.align4j.core.tokenizer.BpeTokenizer;
import org.align4j.core.tokenizer.SpecialTokens;
import org.align4j.core.tokenizer.TokenizerFiles;
import org.align4j.core.util.Json;

/**
 * The whole of {@code align4j serve} as {@link ServeApp} assembles it (one server, examples/base-model
 * served), driven by OpenAI's own Java SDK: upload, a supervised job followed to success, then the
 * job's {@code ft:} model and one of its {@code :ckpt-step-N} checkpoints answer through
 * {@code /v1/chat/completions} and are listed by {@code /v1/models}. Oracle: {@link Generator}
 * ({@code align4j generate}) on the job's own directories, greedy, token for token. While the job
 * trains, greedy chats with the base model run beside it and must equal the Generator's answer:
 * decoding that shared scratch buffers with the training thread would not.
 */
class ServeEndToEndTest {

    static final Path BASE = Path.of("../examples/base-model").toAbsolutePath().normalize();
    static final String KEY = "sk-e2e";
    static final String SYSTEM = "You answer with emoji.";
    static final String USER = "I love pizza";

    @TempDir
    Path dir;

    private final ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
    private Server server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    /** What {@code align4j generate --temperature 0} answers with the model in {@code model}. */
    static String generate(Path model, int maxNew) throws Exception {
        Kernels k = Backend.get().newKernels();
        try {
            DecoderModel m = ModelDirectory.load(model, k, DataType.FLOAT);
            BpeTokenizer tok = TokenizerFiles.load(model);
            m.limitVocabulary(tok);
            int[] ids = ChatTemplate.forModel(model).render(List.of(new ChatMessage("system", SYSTEM),
                    new ChatMessage("user", USER)), tok, true).ids();
            SamplingConfig cfg = new SamplingConfig(maxNew, 0, 0, 1, 0, 0,
                    SpecialTokens.stops(tok, m.config().eosTokenId()), List.of());
            Generation g = new Generator(m).generate(List.of(ids), cfg, tok::decode).get(0);
            return tok.decode(Arrays.copyOf(g.tokenIds(), g.completionTokens()));
        } finally {
            if (k instanceof CpuKernels c) {
                c.close();
            }
        }
    }

    static String chat(OpenAIClient client, String model, int maxNew) {
        ChatCompletion c = client.chat().completions().create(ChatCompletionCreateParams.builder().model(model)
                .addSystemMessage(SYSTEM).addUserMessage(USER).temperature(0).maxCompletionTokens((long) maxNew)
                .build());
        return c.choices().get(0).message().content().orElseThrow();
    }

    @Test
    void uploadTrainFollowThenChatWithTheJobsModelAndCheckpoint() throws Exception {
        ServeConfig cfg = new ServeConfig(List.of(new ServeConfig.NamedModel("base-model", BASE)), "127.0.0.1", 0,
                dir.resolve("data"), KEY, 1 << 20, 1 << 20);
        server = ServeApp.create(cfg, new PrintStream(logBytes, true)).start();
        OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + server.port() + "/v1")
                .apiKey(KEY).maxRetries(0).build();
        String baseAnswer = generate(BASE, 24);
        assertEquals(baseAnswer, chat(client, "base-model", 24), "the base model as served");

        Path train = dir.resolve("emoji.jsonl");
        Files.write(train, Files.readAllLines(Path.of("../examples/emojibot/train.jsonl")).subList(0, 8));
        FileObject f = client.files().create(FileCreateParams.builder().file(train).purpose(FilePurpose.FINE_TUNE)
                .build());
        assertEquals(FileObject.Status.PROCESSED, f.status());
        SupervisedHyperparameters hp = SupervisedHyperparameters.builder().nEpochs(3).batchSize(4)
                .learningRateMultiplier(20.0).putAdditionalProperty("align4j", JsonValue.from(
                        java.util.Map.of("max_length", 64))).build();
        FineTuningJob job = client.fineTuning().jobs().create(JobCreateParams.builder().model("base-model")
                .trainingFile(f.id()).suffix("e2e").seed(3L).method(JobCreateParams.Method.builder()
                        .type(JobCreateParams.Method.Type.SUPERVISED)
                        .supervised(SupervisedMethod.builder().hyperparameters(hp).build()).build()).build());

        // greedy chats with the base model on two threads while the job trains on the runner's thread
        ExecutorService pool = Executors.newFixedThreadPool(2);
        List<String> during = new ArrayList<>();
        FineTuningJob done;
        try {
            long deadline = System.nanoTime() + 180_000_000_000L;
            while (true) {
                List<Future<String>> fs = new ArrayList<>();
                for (int i = 0; i < 2; i++) {
                    fs.add(pool.submit(() -> chat(client, "base-model", 24)));
                }
                for (Future<String> x : fs) {
                    during.add(x.get());
                }
                done = client.fineTuning().jobs().retrieve(job.id());
                if (Set.of("succeeded", "failed", "cancelled").contains(done.status().asString())) {
                    break;
                }
                assertTrue(System.nanoTime() < deadline, "the job never ended; log:\n" + logBytes);
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals("succeeded", done.status().asString(), "log:\n" + logBytes + "\nerror: " + done.error());
        assertTrue(during.size() >= 4, "chats ran beside the training: " + during.size());
        for (String s : during) {
            assertEquals(baseAnswer, s, "a chat decoded while the job trained");
        }

        String ft = "ft:base-model:e2e:" + job.id();
        assertEquals(ft, done.fineTunedModel().orElseThrow());
        List<FineTuningJobCheckpoint> cps = client.fineTuning().jobs().checkpoints().list(job.id()).data();
        FineTuningJobCheckpoint ckpt = cps.get(cps.size() - 1); // the oldest: step 4 of 6, not the final weights
        assertEquals(ft + ":ckpt-step-" + ckpt.stepNumber(), ckpt.fineTunedModelCheckpoint());
        assertTrue(ckpt.stepNumber() < 6, "a checkpoint before the end: " + ckpt.stepNumber());

        List<String> ids = client.models().list().data().stream().map(Model::id).toList();
        assertTrue(ids.containsAll(List.of("base-model", ft, ckpt.fineTunedModelCheckpoint())), ids.toString());
        assertEquals(ft, client.models().retrieve(ft).id());

        Path run = dir.resolve("data/jobs/" + job.id());
        String ftAnswer = generate(new RunDirectory(run).finalDir(), 24);
        assertEquals(ftAnswer, chat(client, ft, 24), "greedy chat with the ft: model = Generator on its final model");
        String ckptAnswer = generate(run.resolve("checkpoints/step-" + ckpt.stepNumber()), 24);
        assertEquals(ckptAnswer, chat(client, ckpt.fineTunedModelCheckpoint(), 24),
                "a checkpoint directory served as a model");
        assertTrue(!ftAnswer.equals(baseAnswer), "training changed the answer: " + ftAnswer);
    }

    /** examples/base-model with a random score head: a reward model on the same tokenizer. */
    static Path rewardModel(Path out) throws Exception {
        Kernels k = Backend.get().newKernels();
        try {
            DecoderModel m = ModelDirectory.load(BASE, k, DataType.FLOAT, true);
            INDArray w = m.parameters().get(DecoderModel.SCORE_HEAD);
            SplittableRandom r = new SplittableRandom(5);
            float[] v = new float[(int) w.length()];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (r.nextGaussian() * 0.1);
            }
            w.assign(Nd4j.createFromArray(v).reshape(w.shape()));
            ModelDirectory.save(m, out);
            ModelDirectory.copyTokenizerFiles(BASE, out);
            return out;
        } finally {
            if (k instanceof CpuKernels c) {
                c.close();
            }
        }
    }

    private HttpResponse<String> post(int port, String path, String body) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Authorization", "Bearer " + KEY).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /**
     * A reinforcement job whose {@code score_model} grader is a reward model this server also serves on
     * {@code /v1/score}: the job loads its own copy on its own kernels, and scores requested while it
     * trains equal the scores before it (the served copy's buffers are not the job's).
     */
    @Test
    void aScoreModelGraderJobTrainsWhileTheSameRewardModelScoresRequests() throws Exception {
        Path rm = rewardModel(dir.resolve("rm"));
        ServeConfig cfg = new ServeConfig(List.of(new ServeConfig.NamedModel("base-model", BASE),
                new ServeConfig.NamedModel("rm", rm)), "127.0.0.1", 0, dir.resolve("data"), KEY, 1 << 20, 1 << 20);
        server = ServeApp.create(cfg, new PrintStream(logBytes, true)).start();
        int port = server.port();
        OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + port + "/v1")
                .apiKey(KEY).maxRetries(0).build();
        String scoreBody = "{\"model\": \"rm\", \"input\": [{\"prompt\": \"Pizza tonight?\", \"response\":"
                + " \"(pizza) (yes)\"}, {\"prompt\": \"Good night!\", \"response\": \"(moon)\"}]}";
        HttpResponse<String> before = post(port, "/v1/score", scoreBody);
        assertEquals(200, before.statusCode(), before.body());
        String expected = Json.MAPPER.readTree(before.body()).get("data").toString();

        Path f = dir.resolve("rft.jsonl");
        Files.writeString(f, "{\"messages\": [{\"role\": \"user\", \"content\": \"Pizza tonight?\"}]}\n"
                + "{\"messages\": [{\"role\": \"user\", \"content\": \"Good night!\"}]}\n"
                + "{\"messages\": [{\"role\": \"user\", \"content\": \"I lost my keys.\"}]}\n"
                + "{\"messages\": [{\"role\": \"user\", \"content\": \"The sun is shining!\"}]}\n");
        FileObject file = client.files().create(FileCreateParams.builder().file(f).purpose(FilePurpose.FINE_TUNE)
                .build());
        String job = "{\"model\": \"base-model\", \"training_file\": \"" + file.id() + "\", \"seed\": 3,"
                + " \"method\": {\"type\": \"reinforcement\", \"reinforcement\": {\"grader\": {\"type\":"
                + " \"score_model\", \"name\": \"rm\", \"model\": \"MODEL\"}, \"hyperparameters\": {\"n_epochs\": 2,"
                + " \"batch_size\": 2, \"align4j\": {\"max_new_tokens\": 6, \"samples_per_prompt\": 2,"
                + " \"max_length\": 48}}}}}";
        // a causal LM is no reward model: refused naming the field, before any work
        HttpResponse<String> refused = post(port, "/v1/fine_tuning/jobs", job.replace("MODEL", "base-model"));
        assertEquals(400, refused.statusCode(), refused.body());
        assertEquals("method.reinforcement.grader.model",
                Json.MAPPER.readTree(refused.body()).at("/error/param").asText(), refused.body());

        HttpResponse<String> created = post(port, "/v1/fine_tuning/jobs", job.replace("MODEL", "rm"));
        assertEquals(200, created.statusCode(), created.body());
        String id = Json.MAPPER.readTree(created.body()).get("id").asText();
        List<String> during = new ArrayList<>();
        FineTuningJob done;
        long deadline = System.nanoTime() + 180_000_000_000L;
        while (true) {
            HttpResponse<String> r = post(port, "/v1/score", scoreBody);
            assertEquals(200, r.statusCode(), r.body());
            during.add(Json.MAPPER.readTree(r.body()).get("data").toString());
            done = client.fineTuning().jobs().retrieve(id);
            if (Set.of("succeeded", "failed", "cancelled").contains(done.status().asString())) {
                break;
            }
            assertTrue(System.nanoTime() < deadline, "the job never ended; log:\n" + logBytes);
        }
        assertEquals("succeeded", done.status().asString(), "log:\n" + logBytes + "\nerror: " + done.error());
        assertTrue(during.size() >= 3, "scores requested while the job trained: " + during.size());
        for (String s : during) {
            assertEquals(expected, s, "a score requested while the job graded with the same reward model");
        }
        List<JsonNode> rows = new RunDirectory(dir.resolve("data/jobs/" + id)).metrics();
        assertEquals(4, rows.size(), "4 prompts, batch 2, 2 epochs");
        for (JsonNode row : rows) {
            // the reward model graded every sample: a grader that failed would score 0 and count here
            assertTrue(row.path("objective/scores").isNumber(), row.toString());
            assertEquals(0.0, row.path("objective/grader_errors").asDouble(-1), 0.0, row.toString());
        }
    }
}
