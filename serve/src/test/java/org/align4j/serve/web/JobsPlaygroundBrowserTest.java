package org.align4j.serve.web;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.Select;

import org.align4j.core.util.Json;
import org.align4j.serve.ServeConfig;
import org.align4j.serve.Server;

/**
 * The Jobs and Playground pages' scripts against OpenAI's wire format ({@link FakeOpenAi}); the
 * real routes come from other branches, and these pages are to be checked against them after the
 * merge.
 */
class JobsPlaygroundBrowserTest {

    @TempDir
    static Path data;
    static Server server;
    static Browser browser;
    static FakeOpenAi openai;
    static String base;

    @BeforeAll
    static void start() throws Exception {
        Browser.assumeInstalled();
        ServeConfig cfg = new ServeConfig(List.of(), "127.0.0.1", 0, data, null, 1 << 20, 1 << 20);
        openai = new FakeOpenAi();
        server = new Server(cfg, List.of(new WebRoutes(cfg), openai), new PrintStream(new ByteArrayOutputStream())).start();
        base = "http://127.0.0.1:" + server.port();
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

    @Test
    void playgroundStreamsTwoModelsWithTheSameSettingsAndShowsLogprobs() throws Exception {
        browser.driver.get(base + "/playground");
        browser.waiting().until(d -> new Select(d.findElement(By.id("modelA"))).getOptions().size() == 2);
        browser.driver.findElement(By.id("compare")).click();
        WebElement t = browser.driver.findElement(By.id("temperature"));
        t.clear();
        t.sendKeys("0.3");
        browser.driver.findElement(By.id("prompt")).sendKeys("Say hello", Keys.ENTER);
        browser.textIs(By.cssSelector("#paneA .msg.assistant"), "Hello, world");
        browser.textIs(By.cssSelector("#paneB .msg.assistant"), "Hi there!");
        WebElement tok = browser.driver.findElements(By.cssSelector("#paneA .tok")).get(2);
        new Actions(browser.driver).moveToElement(tok).perform();
        browser.visible(By.id("tip"));
        assertTrue(browser.driver.findElement(By.id("tip")).getText().contains("logprob -0.7500"),
                browser.driver.findElement(By.id("tip")).getText());
        browser.screenshot("playground");
        assertEquals(2, openai.chatRequests.size());
        for (JsonNode r : openai.chatRequests) {
            assertTrue(r.get("stream").asBoolean());
            assertTrue(r.get("logprobs").asBoolean());
            assertEquals(0.3, r.get("temperature").asDouble(), 1e-12);
            assertEquals(128, r.get("max_tokens").asInt());
            assertEquals(1, r.get("seed").asInt());
            assertEquals("Say hello", r.at("/messages/0/content").asText());
        }
        assertEquals(List.of(), browser.consoleErrors());
    }

    @Test
    void jobsListAJobWithCurvesCheckpointsAndCancel() throws Exception {
        browser.driver.get(base + "/jobs");
        browser.visible(By.linkText("ftjob-1")).click();
        browser.visible(By.cssSelector(".chart[data-group=loss] canvas"));
        JsonNode series = Json.MAPPER.readTree((String) browser.driver.executeScript(
                "const u = window.A4charts[0]; return JSON.stringify({labels: u.series.map(s => s.label), data: u.data});"));
        assertEquals("[\"step\",\"train_loss\"]", series.get("labels").toString());
        assertEquals("[1,2,3,4,5,6]", series.at("/data/0").toString(), "events sorted oldest first");
        assertEquals(3.0 / 4, series.at("/data/1/3").asDouble(), 1e-12);
        browser.textIs(By.cssSelector("#checkpoints tbody td:nth-child(2)"), "ft:base:demo:ftjob-1:ckpt-step-3");
        browser.screenshot("job");
        browser.driver.findElement(By.id("cancel")).click();
        browser.waiting().until(ExpectedConditions.textToBePresentInElementLocated(By.id("status"), "cancelled"));
        assertEquals(List.of(), browser.consoleErrors());
    }

    @Test
    void aJobIsCreatedFromAnUploadedFile() throws Exception {
        Path file = data.resolve("train.jsonl");
        Files.writeString(file, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"hello\"}]}\n");
        browser.driver.get(base + "/jobs/new");
        browser.waiting().until(d -> new Select(d.findElement(By.id("model"))).getOptions().size() == 2);
        browser.driver.findElement(By.id("file")).sendKeys(file.toString());
        browser.driver.findElement(By.cssSelector("#upload button")).click();
        browser.visible(By.id("report"));
        assertTrue(browser.driver.findElement(By.id("filedetails")).getText().contains("\"estimated_tokens\": 42"));
        assertEquals("file-abc", browser.driver.findElement(By.id("training_file")).getAttribute("value"));
        browser.screenshot("job-new");
        browser.driver.findElement(By.cssSelector("#create button[type=submit]")).click();
        browser.waiting().until(ExpectedConditions.urlContains("/jobs/ftjob-2"));
        browser.consoleErrors();
    }
}
