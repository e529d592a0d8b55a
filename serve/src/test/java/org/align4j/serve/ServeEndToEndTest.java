package org.align4j.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

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
}
