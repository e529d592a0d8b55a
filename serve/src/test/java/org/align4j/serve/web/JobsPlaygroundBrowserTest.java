package org.align4j.serve.web;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionTokenLogprob;
import com.openai.models.files.FileCreateParams;
import com.openai.models.files.FileObject;
import com.openai.models.files.FilePurpose;
import com.openai.models.finetuning.jobs.FineTuningJob;
import com.openai.models.finetuning.jobs.FineTuningJobEvent;
import com.openai.models.finetuning.jobs.JobCreateParams;
import com.openai.models.finetuning.jobs.checkpoints.FineTuningJobCheckpoint;
import com.openai.models.finetuning.methods.SupervisedHyperparameters;
import com.openai.models.finetuning.methods.SupervisedMethod;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

import org.align4j.core.util.Json;
import org.align4j.serve.ServeApp;
import org.align4j.serve.ServeConfig;
import org.align4j.serve.Server;

/**
 * The Jobs and Playground pages in headless Chromium against the real server as {@link ServeApp}
 * assembles it (examples/base-model served, a supervised job trained through OpenAI's SDK before the
 * tests). Oracles: the same API read through OpenAI's Java SDK (the greedy answers and their
 * log-probabilities, the job's metrics events, checkpoints, the file's validation report) and the
 * job's status after the page's cancel.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class JobsPlaygroundBrowserTest {

    static final String SYSTEM = "You are EmojiBot. Answer only with Teams emoji codes.";
    static final Path BASE = Path.of("../examples/base-model").toAbsolutePath().normalize();

    @TempDir
    static Path data;
    static Server server;
    static Browser browser;
    static OpenAIClient client;
    static String base;
    static FineTuningJob job;
    static final ByteArrayOutputStream LOG = new ByteArrayOutputStream();

    @BeforeAll
    static void start() throws Exception {
        Browser.assumeInstalled();
        ServeConfig cfg = new ServeConfig(List.of(new ServeConfig.NamedModel("base-model", BASE)), "127.0.0.1", 0,
                data.resolve("data"), null, 1 << 20, 1 << 20);
        server = ServeApp.create(cfg, new PrintStream(LOG, true)).start();
        base = "http://127.0.0.1:" + server.port();
        client = OpenAIOkHttpClient.builder().baseUrl(base + "/v1").apiKey("unused").maxRetries(0).build();
        FileObject f = client.files().create(FileCreateParams.builder().file(emoji(8)).purpose(FilePurpose.FINE_TUNE)
                .build());
        SupervisedHyperparameters hp = SupervisedHyperparameters.builder().nEpochs(3).batchSize(4)
                .learningRateMultiplier(20.0).putAdditionalProperty("align4j", JsonValue.from(Map.of("max_length", 64)))
                .build();
        FineTuningJob j = client.fineTuning().jobs().create(JobCreateParams.builder().model("base-model")
                .trainingFile(f.id()).suffix("web").seed(3L).method(JobCreateParams.Method.builder()
                        .type(JobCreateParams.Method.Type.SUPERVISED)
                        .supervised(SupervisedMethod.builder().hyperparameters(hp).build()).build()).build());
        long deadline = System.nanoTime() + 180_000_000_000L;
        do {
            Thread.sleep(200);
            job = client.fineTuning().jobs().retrieve(j.id());
        } while (!Set.of("succeeded", "failed", "cancelled").contains(job.status().asString())
                && System.nanoTime() < deadline);
        assertEquals("succeeded", job.status().asString(), "log:\n" + LOG);
        browser = new Browser();
    }

    @AfterAll
    static void stop() throws Exception {
        if (browser != null) {
            browser.close();
        }
        if (server != null) {
            server.close();
        }
    }

    static Path emoji(int n) throws Exception {
        Path f = data.resolve("emoji-" + n + ".jsonl");
        Files.write(f, Files.readAllLines(Path.of("../examples/emojibot/train.jsonl")).subList(0, n));
        return f;
    }

    static ChatCompletion greedy(String model, String user, int max) {
        return client.chat().completions().create(ChatCompletionCreateParams.builder().model(model)
                .addSystemMessage(SYSTEM).addUserMessage(user).temperature(0).maxTokens((long) max).seed(1L).logprobs(true).topLogprobs(5L)
                .build());
    }

    @Test
    @Order(1)
    void playgroundStreamsTheBaseAndTheFineTunedModelSideBySideWithLogprobs() throws Exception {
        String ft = job.fineTunedModel().orElseThrow();
        ChatCompletion a = greedy("base-model", "I love pizza", 16);
        ChatCompletion b = greedy(ft, "I love pizza", 16);
        String textA = a.choices().get(0).message().content().orElseThrow();
        String textB = b.choices().get(0).message().content().orElseThrow();
        assertTrue(!textA.isEmpty() && !textA.equals(textB), textA + " | " + textB);

        browser.driver.get(base + "/playground");
        browser.waiting().until(d -> new Select(d.findElement(By.id("modelA"))).getOptions().stream()
                .anyMatch(o -> o.getAttribute("value").equals(ft)));
        new Select(browser.driver.findElement(By.id("modelA"))).selectByValue("base-model");
        browser.driver.findElement(By.id("compare")).click();
        new Select(browser.driver.findElement(By.id("modelB"))).selectByValue(ft);
        for (String[] field : new String[][] {{"temperature", "0"}, {"max_tokens", "16"}, {"seed", "1"}}) {
            WebElement e = browser.driver.findElement(By.id(field[0]));
            e.clear();
            e.sendKeys(field[1]);
        }
        browser.driver.findElement(By.id("system")).sendKeys(SYSTEM);
        browser.driver.findElement(By.id("prompt")).sendKeys("I love pizza", Keys.ENTER);
        new WebDriverWait(browser.driver, Duration.ofSeconds(60)).until(d -> d.findElement(By.id("send"))
                .isEnabled() && !d.findElements(By.cssSelector("#paneB .msg.assistant")).isEmpty());
        assertEquals(textA, browser.driver.findElement(By.cssSelector("#paneA .msg.assistant")).getAttribute("textContent"),
                "the streamed answer of the base model");
        assertEquals(textB, browser.driver.findElement(By.cssSelector("#paneB .msg.assistant")).getAttribute("textContent"),
                "the streamed answer of the fine-tuned model");

        // each span's log-probability is the sum of its tokens' (one token, or the bytes of one character)
        for (String pane : List.of("A", "B")) {
            ChatCompletion c = pane.equals("A") ? a : b;
            List<ChatCompletionTokenLogprob> lps = c.choices().get(0).logprobs().orElseThrow().content().orElseThrow();
            double pageSum = 0;
            for (WebElement s : browser.driver.findElements(By.cssSelector("#pane" + pane + " .tok"))) {
                pageSum += Double.parseDouble(s.getAttribute("data-logprob"));
            }
            double apiSum = lps.stream().mapToDouble(ChatCompletionTokenLogprob::logprob).sum();
            assertEquals(apiSum, pageSum, 1e-3, "every token's log-probability is on pane " + pane);
        }
        List<ChatCompletionTokenLogprob> lps = a.choices().get(0).logprobs().orElseThrow().content().orElseThrow();
        WebElement first = browser.driver.findElements(By.cssSelector("#paneA .tok")).get(0);
        new Actions(browser.driver).moveToElement(first).perform();
        browser.visible(By.id("tip"));
        String tip = browser.driver.findElement(By.id("tip")).getText();
        assertTrue(tip.contains("logprob " + String.format("%.4f", lps.get(0).logprob()).substring(0, 5)), tip);
        assertTrue(tip.split("\n").length >= 1 + 5, "the top 5 alternatives: " + tip);
        browser.screenshot("playground");
        assertEquals(List.of(), browser.consoleErrors());
    }

    @Test
    @Order(2)
    void aRealJobShowsItsEventsCurvesAndCheckpoints() throws Exception {
        browser.driver.get(base + "/jobs");
        browser.visible(By.linkText(job.id())).click();
        browser.waiting().until(ExpectedConditions.textToBePresentInElementLocated(By.id("status"), "succeeded"));
        browser.visible(By.cssSelector(".chart[data-group=loss] canvas"));
        JsonNode series = Json.MAPPER.readTree((String) browser.driver.executeScript(
                "const u = window.A4charts.find(c => c.series.some(s => s.label === 'train_loss'));"
                        + " return JSON.stringify({labels: u.series.map(s => s.label), data: u.data});"));
        List<FineTuningJobEvent> events = new ArrayList<>();
        client.fineTuning().jobs().listEvents(job.id()).autoPager().forEach(events::add);
        List<JsonNode> metrics = new ArrayList<>();
        Collections.reverse(events); // oldest first
        for (FineTuningJobEvent e : events) {
            if (e.type().orElseThrow().asString().equals("metrics")) {
                metrics.add(Json.MAPPER.readTree(Json.MAPPER.writeValueAsString(e._data())));
            }
        }
        assertEquals(6, metrics.size());
        assertEquals("[1,2,3,4,5,6]", series.at("/data/0").toString(), "steps in order");
        int col = -1;
        for (int i = 0; i < series.get("labels").size(); i++) {
            if (series.get("labels").get(i).asText().equals("train_loss")) {
                col = i;
            }
        }
        for (int s = 0; s < 6; s++) {
            assertEquals(metrics.get(s).get("train_loss").asDouble(), series.at("/data/" + col + "/" + s).asDouble(),
                    1e-12, "train_loss at step " + (s + 1));
        }
        List<String> ids = client.fineTuning().jobs().checkpoints().list(job.id()).data().stream()
                .map(FineTuningJobCheckpoint::fineTunedModelCheckpoint).toList();
        List<String> shown = browser.driver.findElements(By.cssSelector("#checkpoints tbody td:nth-child(2)")).stream()
                .map(WebElement::getText).toList();
        assertEquals(ids, shown);
        assertTrue(browser.driver.findElement(By.id("events")).getText().contains("The job has successfully completed"));
        String facts = browser.driver.findElement(By.id("facts")).getText();
        assertTrue(facts.contains(job.fineTunedModel().orElseThrow()), facts);
        assertTrue(facts.contains("align4j={\"max_length\":64}"), facts);
        assertTrue(facts.matches("(?s).*Trained tokens\\s+" + job.trainedTokens().orElseThrow() + "\\b.*"), facts);
        browser.screenshot("job");
        assertEquals(List.of(), browser.consoleErrors());
    }

    @Test
    @Order(3)
    void aJobIsCreatedFromAnUploadWithItsReportThenCancelled() throws Exception {
        Path file = emoji(6);
        browser.driver.get(base + "/jobs/new");
        browser.waiting().until(d -> new Select(d.findElement(By.id("model"))).getOptions().size() >= 2);
        // a file the data module refuses: its FILE:LINE problems shown, and no id offered for a job
        Path bad = data.resolve("bad.jsonl");
        Files.writeString(bad, Files.readAllLines(Path.of("../examples/emojibot/train.jsonl")).get(0)
                + "\n{\"messages\": [{\"role\": \"user\"}]}\n");
        browser.driver.findElement(By.id("file")).sendKeys(bad.toString());
        browser.driver.findElement(By.cssSelector("#upload button")).click();
        browser.waiting().until(ExpectedConditions.textToBePresentInElementLocated(
                By.cssSelector("#filefacts dd[data-field='Status']"), "error"));
        String problems = browser.visible(By.id("filedetails")).getText();
        assertTrue(problems.startsWith("bad.jsonl:2: "), problems);
        assertEquals("", browser.driver.findElement(By.id("training_file")).getAttribute("value"));
        assertEquals("1", field("Invalid records"));
        browser.driver.findElement(By.id("file")).clear();
        browser.driver.findElement(By.id("file")).sendKeys(file.toString());
        browser.driver.findElement(By.cssSelector("#upload button")).click();
        browser.visible(By.id("report"));
        browser.waiting().until(d -> !d.findElement(By.id("training_file")).getAttribute("value").isEmpty());
        String fileId = browser.driver.findElement(By.id("training_file")).getAttribute("value");
        JsonNode report = Json.MAPPER.readTree(Json.MAPPER.writeValueAsString(
                client.files().retrieve(fileId)._additionalProperties().get("align4j")));
        assertEquals(6, report.get("valid_records").asInt());
        assertEquals(report.get("valid_records").asText(), field("Valid records"));
        assertEquals(report.get("billed_tokens_per_epoch").asText(), field("Billed tokens per epoch"));
        assertEquals(report.get("estimated_training_tokens").asText() + " (" + report.get("suggested_epochs").asText()
                + " epochs)", field("Estimated training tokens"));
        WebElement epochs = browser.driver.findElement(By.id("n_epochs"));
        epochs.sendKeys("50");
        long per = report.get("billed_tokens_per_epoch").asLong();
        assertEquals((per * 50) + " training tokens (" + per + " per epoch x 50 epochs)",
                browser.driver.findElement(By.id("estimate")).getText());
        browser.driver.findElement(By.id("batch_size")).sendKeys("2");
        browser.driver.findElement(By.id("suffix")).sendKeys("page");
        browser.screenshot("job-new");
        browser.driver.findElement(By.cssSelector("#create button[type=submit]")).click();
        browser.waiting().until(ExpectedConditions.urlContains("/jobs/ftjob-"));
        String id = browser.driver.getCurrentUrl().substring(browser.driver.getCurrentUrl().lastIndexOf('/') + 1);
        FineTuningJob created = client.fineTuning().jobs().retrieve(id);
        assertEquals(fileId, created.trainingFile());
        assertEquals("base-model", created.model());
        new WebDriverWait(browser.driver, Duration.ofSeconds(60)).until(
                ExpectedConditions.textToBePresentInElementLocated(By.id("status"), "running"));
        // pause checkpoints and stops the stage; resume continues it
        browser.visible(By.id("pause")).click();
        new WebDriverWait(browser.driver, Duration.ofSeconds(60)).until(
                ExpectedConditions.textToBePresentInElementLocated(By.id("status"), "paused"));
        assertEquals("paused", client.fineTuning().jobs().retrieve(id).status().asString());
        browser.visible(By.id("resume")).click();
        new WebDriverWait(browser.driver, Duration.ofSeconds(60)).until(
                ExpectedConditions.textToBePresentInElementLocated(By.id("status"), "running"));
        browser.driver.findElement(By.id("cancel")).click();
        new WebDriverWait(browser.driver, Duration.ofSeconds(60)).until(
                ExpectedConditions.textToBePresentInElementLocated(By.id("status"), "cancelled"));
        assertEquals("cancelled", client.fineTuning().jobs().retrieve(id).status().asString());
        assertEquals(List.of(), browser.consoleErrors());
    }

    /** The text the report shows for {@code name}. */
    private static String field(String name) {
        return browser.driver.findElement(By.cssSelector("#filefacts dd[data-field='" + name + "']")).getText();
    }
}
