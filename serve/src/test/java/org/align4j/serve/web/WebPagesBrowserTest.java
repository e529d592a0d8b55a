package org.align4j.serve.web;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
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
import org.openqa.selenium.WindowType;
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.support.ui.ExpectedConditions;

import org.align4j.core.run.RunDirectory;
import org.align4j.core.util.Json;
import org.align4j.data.label.Agreement;
import org.align4j.data.label.JudgmentStore;
import org.align4j.data.label.LabelExport;
import org.align4j.data.label.LabelTask;
import org.align4j.serve.Server;

/**
 * The pages in headless Chromium: login with the key, an annotator ranking by keys and by drag
 * with ties, flags and a rationale, two annotators at once, the runs page's curves and a report;
 * the judgments are read back by the code of {@code label agreement} and {@code label export}, and
 * the browser's console must stay free of errors.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class WebPagesBrowserTest {

    static final String KEY = "sk-browser";

    @TempDir
    static Path data;
    static Server server;
    static Browser browser;
    static String base;
    static Map<String, LabelTask> tasks;

    @BeforeAll
    static void start() throws Exception {
        Browser.assumeInstalled();
        WebFixtures.taskSet(data, "demo");
        WebFixtures.run(data, "runs/sft-demo");
        Files.createDirectories(data.resolve("pipeline-1"));
        Files.writeString(data.resolve("pipeline-1/report.html"), "<!doctype html><html><body><h1>Pipeline report</h1>"
                + "<p>gold score of DPO: 0.71</p></body></html>");
        tasks = new LinkedHashMap<>();
        LabelTask.read(data.resolve("label/demo.jsonl")).forEach(t -> tasks.put(t.id(), t));
        server = WebFixtures.start(data, KEY);
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

    static void login() {
        login(base);
    }

    static void login(String origin) {
        browser.driver.get(origin + "/login");
        WebElement key = browser.visible(By.id("key"));
        key.sendKeys(KEY, Keys.ENTER);
        browser.waiting().until(d -> !d.getCurrentUrl().contains("/login"));
    }

    @Test
    @Order(1)
    void pagesNeedTheKeyAndHoldNoData() throws Exception {
        WebFixtures.Http anonymous = new WebFixtures.Http(base, null);
        WebFixtures.Reply page = anonymous.get("/label");
        assertEquals(200, page.status());
        assertFalse(page.body().contains("demo"), "a page served without the key holds no data");
        assertEquals(401, anonymous.get("/api/label/tasksets").status());

        browser.driver.get(base + "/label");
        browser.waiting().until(ExpectedConditions.urlContains("/login"));
        browser.screenshot("login");
        browser.visible(By.id("key")).sendKeys("sk-wrong", Keys.ENTER);
        browser.textIs(By.id("msg"), "That key was refused.");
        browser.consoleErrors(); // the refused key's 401 is expected here; drained
        WebElement key = browser.driver.findElement(By.id("key"));
        key.clear();
        key.sendKeys(KEY, Keys.ENTER);
        browser.waiting().until(ExpectedConditions.urlToBe(base + "/label"));
        browser.visible(By.cssSelector("#sets tr[data-set=demo]"));
        assertEquals(List.of(), browser.consoleErrors());
    }

    /** The displayed position of a task's original response, read from what the page shows. */
    static int shownAt(LabelTask t, int original) {
        List<WebElement> texts = browser.driver.findElements(By.cssSelector("#cands .cand"));
        for (WebElement c : texts) {
            if (c.findElement(By.className("cand-text")).getText().equals(t.responses().get(original))) {
                return Integer.parseInt(c.getAttribute("data-pos"));
            }
        }
        throw new AssertionError("response " + original + " of " + t.id() + " not shown");
    }

    static WebElement card(LabelTask t, int original) {
        return browser.driver.findElement(By.cssSelector("#cands .cand[data-pos='" + shownAt(t, original) + "']"));
    }

    static LabelTask currentTask() {
        String prompt = browser.visible(By.id("prompt")).getText();
        return tasks.values().stream().filter(t -> t.prompt().equals(prompt)).findFirst().orElseThrow();
    }

    static void press(CharSequence... keys) {
        new Actions(browser.driver).sendKeys(keys).perform();
    }

    /** Drags a card (by its handle) above the first card, in small pointer steps. */
    static void dragToTop(WebElement cardEl) {
        WebElement handle = cardEl.findElement(By.className("handle"));
        WebElement first = browser.driver.findElement(By.cssSelector("#cands .cand"));
        int dy = first.getLocation().getY() - handle.getLocation().getY() - 10;
        Actions a = new Actions(browser.driver).clickAndHold(handle);
        for (int i = 1; i <= 5; i++) {
            a.moveByOffset(0, dy / 5);
        }
        a.release().perform();
    }

    static void waitForNext(int judged) {
        browser.waiting().until(ExpectedConditions.textToBePresentInElementLocated(By.id("progress"), judged + " of 3 judged"));
        browser.waiting().until(d -> !d.findElement(By.id("submit")).isEnabled() || d.findElement(By.id("task")).getAttribute("hidden") != null);
    }

    @Test
    @Order(2)
    void anAnnotatorRanksByKeysAndByDragWithTiesFlagsAndRationale() throws Exception {
        login();
        browser.driver.get(base + "/label");
        browser.visible(By.id("annotator")).sendKeys("alice");
        browser.driver.findElement(By.cssSelector("#sets tr[data-set=demo] button.start")).click();
        browser.textIs(By.id("progress"), "0 of 3 judged");
        Map<String, List<Set<Integer>>> expected = new LinkedHashMap<>();

        // 1: keys only: 'x = y' ties the second with the first, the last is placed by itself
        LabelTask a = currentTask();
        int p2 = shownAt(a, 2);
        int p0 = shownAt(a, 0);
        press(String.valueOf(p2 + 1), "=", String.valueOf(p0 + 1));
        browser.textIs(By.id("summary"), (p2 + 1) + " = " + (p0 + 1) + " > " + (shownAt(a, 1) + 1));
        card(a, 1).findElement(By.cssSelector("input.flag[value=unsafe]")).click();
        browser.driver.findElement(By.id("rationale")).sendKeys("two fine answers, one unsafe");
        browser.screenshot("label-ranking");
        browser.driver.findElement(By.id("rationale")).sendKeys(Keys.chord(Keys.CONTROL, Keys.ENTER));
        expected.put(a.id(), List.of(Set.of(2, 0), Set.of(1)));
        waitForNext(1);

        // 2: by drag, then the tie box of the last one
        LabelTask b = currentTask();
        dragToTop(card(b, 2));
        dragToTop(card(b, 0));
        dragToTop(card(b, 1));
        browser.textIs(By.id("summary"), (shownAt(b, 1) + 1) + " > " + (shownAt(b, 0) + 1) + " > " + (shownAt(b, 2) + 1));
        card(b, 2).findElement(By.cssSelector("input.tie")).click();
        browser.textIs(By.id("summary"), (shownAt(b, 1) + 1) + " > " + (shownAt(b, 0) + 1) + " = " + (shownAt(b, 2) + 1));
        browser.driver.findElement(By.id("submit")).click();
        expected.put(b.id(), List.of(Set.of(1), Set.of(0, 2)));
        waitForNext(2);

        // 3: keys, a mistake taken back with Backspace, Enter submits
        LabelTask c = currentTask();
        press(String.valueOf(shownAt(c, 2) + 1), Keys.BACK_SPACE.toString(), String.valueOf(shownAt(c, 1) + 1),
                String.valueOf(shownAt(c, 0) + 1));
        browser.textIs(By.id("summary"), (shownAt(c, 1) + 1) + " > " + (shownAt(c, 0) + 1) + " > " + (shownAt(c, 2) + 1));
        browser.driver.findElement(By.tagName("body")).click();
        press(Keys.ENTER.toString());
        expected.put(c.id(), List.of(Set.of(1), Set.of(0), Set.of(2)));
        browser.visible(By.id("done"));
        browser.textIs(By.id("progress"), "3 of 3 judged");
        browser.screenshot("label-done");
        assertEquals(List.of(), browser.consoleErrors());

        // the store, as label export and label agreement read it
        Path store = data.resolve("label/demo.judgments.jsonl");
        JudgmentStore.Contents contents = JudgmentStore.readInputs(List.of(store));
        contents.checkAgainst(tasks, data.resolve("label/demo.jsonl"));
        Map<String, List<Set<Integer>>> stored = new LinkedHashMap<>();
        contents.effective("alice").forEach(j -> stored.put(j.taskId(), sets(j.ranking().groups())));
        assertEquals(expected, stored);
        var flagged = contents.effective("alice").stream().filter(j -> j.taskId().equals(a.id())).findFirst().orElseThrow();
        assertEquals(Map.of(1, List.of("unsafe")), flagged.candidateFlags());
        assertEquals("two fine answers, one unsafe", flagged.rationale());
        LabelExport.Result ex = LabelExport.export(contents, tasks, false, 1);
        assertEquals(3, ex.rankings().size());
        Agreement.Report rep = Agreement.compute(contents.effective(), tasks);
        // t3 is gold (0 > 1 > 2): alice's ranking of it decides her gold accuracy, counted by hand
        List<Set<Integer>> t3 = expected.get("t3");
        assertEquals(goldAgreement(t3), rep.goldAccuracy().get("alice"), 1e-12);
    }

    /** Share of the three pairs of t3 on which a ranking agrees with the gold 0 > 1 > 2. */
    static double goldAgreement(List<Set<Integer>> groups) {
        int[] level = new int[3];
        for (int g = 0; g < groups.size(); g++) {
            for (int i : groups.get(g)) {
                level[i] = g;
            }
        }
        int agree = 0;
        int[][] pairs = {{0, 1}, {0, 2}, {1, 2}};
        for (int[] p : pairs) {
            agree += level[p[0]] < level[p[1]] ? 1 : 0; // gold: the lower index is better
        }
        return agree / 3.0;
    }

    static List<Set<Integer>> sets(List<List<Integer>> groups) {
        List<Set<Integer>> out = new ArrayList<>();
        groups.forEach(g -> out.add(new HashSet<>(g)));
        return out;
    }

    @Test
    @Order(3)
    void twoAnnotatorsAtOnce() throws Exception {
        String first = browser.driver.getWindowHandle();
        login();
        browser.driver.get(base + "/label/demo?annotator=bob");
        browser.textIs(By.id("progress"), "0 of 3 judged");
        browser.driver.switchTo().newWindow(WindowType.TAB);
        String second = browser.driver.getWindowHandle();
        login();
        browser.driver.get(base + "/label/demo?annotator=carol");
        browser.textIs(By.id("progress"), "0 of 3 judged");
        for (int round = 1; round <= 3; round++) {
            for (String w : List.of(first, second)) {
                browser.driver.switchTo().window(w);
                browser.visible(By.id("prompt"));
                press("1", "2");
                browser.driver.findElement(By.id("submit")).click();
                browser.waiting().until(ExpectedConditions.textToBePresentInElementLocated(By.id("progress"),
                        round + " of 3 judged"));
            }
        }
        browser.screenshot("label-second-annotator");
        assertEquals(List.of(), browser.consoleErrors());
        browser.driver.close();
        browser.driver.switchTo().window(first);
        JudgmentStore.Contents c = JudgmentStore.readInputs(List.of(data.resolve("label/demo.judgments.jsonl")));
        for (String who : List.of("bob", "carol")) {
            Set<String> ids = new HashSet<>();
            c.effective(who).forEach(j -> ids.add(j.taskId()));
            assertEquals(tasks.keySet(), ids, who);
        }
        // the list page now shows who judged how much
        browser.driver.get(base + "/label");
        WebElement row = browser.visible(By.cssSelector("#sets tr[data-set=demo]"));
        browser.waiting().until(ExpectedConditions.textToBePresentInElement(row, "carol (3)"));
        row.findElement(By.cssSelector("button.agree")).click();
        browser.visible(By.cssSelector("#agreement table"));
        browser.screenshot("label-list");
        assertEquals(List.of(), browser.consoleErrors());
    }

    @Test
    @Order(4)
    void runsPageShowsTheCurvesAndTheReport() throws Exception {
        login();
        browser.driver.get(base + "/runs");
        browser.visible(By.linkText("runs/sft-demo"));
        browser.screenshot("runs");
        browser.driver.findElement(By.linkText("runs/sft-demo")).click();
        browser.visible(By.cssSelector(".chart[data-group=loss] canvas"));
        // what uPlot was given: the 12 losses of the fixture, 2/(1+step/4), and val_loss at steps 4, 8, 12
        JsonNode series = Json.MAPPER.readTree((String) browser.driver.executeScript(
                "const u = window.A4charts.find(c => c.root.parentNode.dataset.group === 'loss');"
                        + "return JSON.stringify({labels: u.series.map(s => s.label), data: u.data});"));
        assertEquals("[\"step\",\"loss\",\"val_loss\"]", series.get("labels").toString());
        assertEquals(12, series.at("/data/1").size());
        for (int step = 1; step <= 12; step++) {
            assertEquals(2.0 / (1 + step / 4.0), series.at("/data/1").get(step - 1).asDouble(), 1e-12);
        }
        assertEquals(2.2 / 2, series.at("/data/2").get(3).asDouble(), 1e-12);
        assertTrue(series.at("/data/2").get(0).isNull());
        // and that it drew them: pixels of the loss stroke (#2456c9) on the plot's canvas
        long stroke = (Long) browser.driver.executeScript(
                "const cv = document.querySelector('.chart[data-group=loss] canvas');"
                        + "const px = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data; let n = 0;"
                        + "for (let i = 0; i < px.length; i += 4) if (Math.abs(px[i]-36) < 30 && Math.abs(px[i+1]-86) < 30"
                        + " && Math.abs(px[i+2]-201) < 30 && px[i+3] > 200) n++; return n;");
        assertTrue(stroke > 200, "the loss curve is drawn: " + stroke + " pixels of its colour");
        browser.textIs(By.cssSelector("#events tbody tr:last-child td:nth-child(2)"), "succeeded");
        browser.screenshot("run");
        assertEquals(List.of(), browser.consoleErrors());

        browser.driver.get(base + "/runs");
        browser.visible(By.linkText("pipeline-1/report.html")).click();
        browser.waiting().until(ExpectedConditions.frameToBeAvailableAndSwitchToIt(By.id("report")));
        browser.textIs(By.tagName("h1"), "Pipeline report");
        browser.driver.switchTo().defaultContent();
        browser.screenshot("report");
        assertEquals(List.of(), browser.consoleErrors());
    }

    @Test
    @Order(4)
    void aRunningRunsCurvesGrowAsItLogs() throws Exception {
        RunDirectory run = new RunDirectory(data.resolve("runs/live"));
        run.create();
        run.appendEvent(RunDirectory.Status.RUNNING, "training started");
        for (int step = 1; step <= 3; step++) {
            run.appendMetrics(Json.MAPPER.createObjectNode().put("step", step).put("loss", 1.0 / step));
        }
        login();
        browser.driver.get(base + "/runs/view?path=runs/live");
        browser.visible(By.cssSelector(".chart[data-group=loss] canvas"));
        String points = "return window.A4charts[0].data[1].length;";
        assertEquals(3L, browser.driver.executeScript(points));
        run.appendMetrics(Json.MAPPER.createObjectNode().put("step", 4).put("loss", 0.25));
        run.appendMetrics(Json.MAPPER.createObjectNode().put("step", 5).put("loss", 0.2));
        browser.waiting().until(d -> Long.valueOf(5).equals(browser.driver.executeScript(points)));
        run.appendEvent(RunDirectory.Status.SUCCEEDED, "done");
        browser.waiting().until(ExpectedConditions.textToBePresentInElementLocated(By.id("status"), "succeeded"));
        assertEquals(List.of(), browser.consoleErrors());
    }

    @Test
    @Order(5)
    void everyPageRendersWithItsNavigation() throws Exception {
        login();
        for (String p : List.of("/", "/jobs", "/jobs/new", "/jobs/ftjob-none", "/playground")) {
            browser.driver.get(base + p);
            browser.visible(By.cssSelector("nav[aria-label=Main] a.brand"));
            assertEquals(4, browser.driver.findElements(By.cssSelector("nav[aria-label=Main] ul a")).size());
            browser.screenshot(p.equals("/") ? "home" : p.substring(1).replace('/', '-'));
        }
        browser.consoleErrors(); // the OpenAI routes are not in this server: their 404s are expected here
    }

    /** The original index of the response a page shows at a position. */
    static int originalAt(LabelTask t, int pos) {
        String text = browser.driver.findElement(By.cssSelector("#cands .cand[data-pos='" + pos + "'] .cand-text")).getText();
        return t.responses().indexOf(text);
    }

    static List<Set<Integer>> shownOrder(LabelTask t) {
        List<Set<Integer>> out = new ArrayList<>();
        for (WebElement c : browser.driver.findElements(By.cssSelector("#cands .cand"))) {
            out.add(Set.of(originalAt(t, Integer.parseInt(c.getAttribute("data-pos")))));
        }
        return out;
    }

    @Test
    @Order(6)
    void threeTasksRankedByKeysAndMouseSurviveAKilledServer() throws Exception {
        Path crash = data.resolve("crash");
        WebFixtures.taskSet(crash, "demo");
        Map<String, List<Set<Integer>>> expected = new LinkedHashMap<>();
        try (ChildServer child = new ChildServer(crash, KEY)) {
            String origin = "http://127.0.0.1:" + child.port;
            login(origin);
            browser.driver.get(origin + "/label/demo?annotator=zoe");
            for (int i = 1; i <= 3; i++) {
                browser.textIs(By.id("progress"), (i - 1) + " of 3 judged");
                LabelTask t = currentTask();
                if (i == 2) {
                    dragToTop(browser.driver.findElements(By.cssSelector("#cands .cand")).get(2));
                } else {
                    press("3", "1");
                }
                expected.put(t.id(), shownOrder(t));
                if (i == 3) {
                    browser.driver.findElement(By.id("submit")).click();
                } else {
                    browser.driver.findElement(By.tagName("body")).click();
                    press(Keys.ENTER.toString());
                }
            }
            browser.textIs(By.id("progress"), "3 of 3 judged");
            child.kill();
        }
        JudgmentStore.Contents c = JudgmentStore.readInputs(List.of(crash.resolve("label/demo.judgments.jsonl")));
        Map<String, List<Set<Integer>>> stored = new LinkedHashMap<>();
        c.effective("zoe").forEach(j -> stored.put(j.taskId(), sets(j.ranking().groups())));
        assertEquals(expected, stored);
        try (ChildServer again = new ChildServer(crash, KEY)) {
            String origin = "http://127.0.0.1:" + again.port;
            login(origin);
            browser.driver.get(origin + "/label/demo?annotator=zoe");
            browser.textIs(By.id("progress"), "3 of 3 judged");
            browser.visible(By.id("done"));
        }
        assertEquals(List.of(), browser.consoleErrors());
    }
}
