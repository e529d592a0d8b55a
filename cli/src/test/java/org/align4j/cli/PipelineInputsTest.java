package org.align4j.cli;

import static org.align4j.cli.CliTest.run;
import static org.align4j.cli.LabelInputsTest.judgment;
import static org.align4j.cli.LabelInputsTest.task;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pipeline's inputs: what a stage section names (a reward function, a value model, PPO-ptx
 * text) is checked before any stage runs, and {@code --resume} notices an input that changed after a
 * finished step read it: judgments appended after the labels step are refused, naming the file and
 * the step, and nothing is redone or rewritten.
 */
class PipelineInputsTest {

    @TempDir
    Path tmp;

    @Test
    void whatAStageSectionNamesIsCheckedBeforeAnyStage() throws Exception {
        Path config = tmp.resolve("p.json");
        Path out = tmp.resolve("never");
        String[][] cases = {
            {"\"ppo\": {\"reward_fn\": \"bogus\"}}", "section 'ppo': setting 'reward_fn': unknown function 'bogus';"
                    + " valid values: sentiment, regex:PATTERN, length:N"},
            {"\"ppo_ptx\": {\"ptx_data\": \"" + tmp.resolve("missing.jsonl") + "\"}}", "section 'ppo_ptx': setting"
                    + " 'ptx_data': " + tmp.resolve("missing.jsonl") + ": no such file"},
            {"\"ppo\": {\"value_model\": \"" + tmp.resolve("nowhere") + "\"}}", "section 'ppo': setting 'value_model': "
                    + tmp.resolve("nowhere") + " is not a model directory"}};
        for (String[] c : cases) {
            Files.writeString(config, PipelineCommandTest.BASE + c[0]);
            String[] r = run("", "pipeline", "--config", config.toString(), "--out", out.toString());
            assertEquals("1", r[0], r[2]);
            assertEquals("align4j: " + config + ": " + c[1], r[2].trim());
            assertTrue(!Files.exists(out), "no stage ran");
        }
    }

    @Test
    void resumeRefusesJudgmentsThatChangedAfterTheLabelsStep() throws Exception {
        Path config = tmp.resolve("p.json");
        Files.writeString(config, PipelineCommandTest.TINY);
        StringBuilder tasks = new StringBuilder();
        StringBuilder judgments = new StringBuilder();
        for (int i = 0; i < 6; i++) {
            tasks.append(task("t" + i, 2));
            judgments.append(judgment("j" + i, "t" + i, i % 2 == 0 ? "[[0], [1]]" : "[[1], [0]]", "[0, 1]"));
        }
        Path taskFile = tmp.resolve("tasks.jsonl");
        Files.writeString(taskFile, tasks);
        Path judgmentFile = tmp.resolve("judgments.jsonl");
        Files.writeString(judgmentFile, judgments);
        Path out = tmp.resolve("run");
        String[] first = run("", "pipeline", "--config", config.toString(), "--tasks", taskFile.toString(),
                "--judgments", judgmentFile.toString(), "--out", out.toString());
        assertEquals("0", first[0], first[2]);

        // the same inputs resume: every step is done
        String[] again = run("", "pipeline", "--config", config.toString(), "--tasks", taskFile.toString(),
                "--judgments", judgmentFile.toString(), "--out", out.toString(), "--resume");
        assertEquals("0", again[0], again[2]);
        assertTrue(again[2].contains("labels: done") || again[2].contains("judgments from " + judgmentFile
                + ": done"), again[2]);
        String report = Files.readString(out.resolve("report.json"));

        Files.writeString(judgmentFile, judgment("j9", "t0", "[[1], [0]]", "[0, 1]"), StandardOpenOption.APPEND);
        String[] r = run("", "pipeline", "--config", config.toString(), "--tasks", taskFile.toString(),
                "--judgments", judgmentFile.toString(), "--out", out.toString(), "--resume");
        assertEquals("1", r[0], r[2]);
        assertEquals("align4j: " + judgmentFile + " (--judgments) changed since the pipeline's labels step used it;"
                + " resume with the file it used, or run the pipeline into another --out", r[2].trim());
        assertEquals(report, Files.readString(out.resolve("report.json")), "nothing rewritten");
    }
}
