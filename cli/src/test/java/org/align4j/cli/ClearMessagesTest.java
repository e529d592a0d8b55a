package org.align4j.cli;

import static org.align4j.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Messages that say what actually happened and name what the user can change: the option or key
 * as the user wrote it, its valid values, and only options the command has.
 */
class ClearMessagesTest {

    static final String MODEL = PromptChecksTest.MODEL;

    @TempDir
    Path tmp;

    @Test
    void allTiedRankingsAreCalledTiedNotTooLong() throws Exception {
        Path tied = tmp.resolve("tied.jsonl");
        Files.writeString(tied, ("{\"prompt\": \"Once\", \"responses\": [\"a happy day\", \"a sad day\"],"
                + " \"ranking\": [[0, 1]]}\n").repeat(3));
        String[] r = run("", "dpo", "--model", MODEL, "--train", tied.toString(), "--out",
                tmp.resolve("dpo").toString(), "--max-steps", "1", "--batch-size", "2");
        assertEquals("1", r[0], r[2]);
        assertTrue(r[2].contains(tied + ": no record gives a preference pair: every ranking ties all its responses,"
                + " at line(s) [1, 2, 3]"), r[2]);
        assertFalse(r[2].contains("--max-length"), r[2]);
    }

    @Test
    void aJudgeIsNamedByTheOptionOrKeyThatGaveIt() throws Exception {
        String valid = "unknown function 'bogus'; valid values: sentiment, regex:PATTERN, length:N";
        Path prompts = tmp.resolve("prompts.jsonl");
        Files.writeString(prompts, "{\"prompt\": \"Once\"}\n");
        String[] r = run("", "compare", "--reference", MODEL, "--policy", "a=" + MODEL, "--prompts",
                prompts.toString(), "--judge", "bogus", "--out", tmp.resolve("cmp").toString());
        assertEquals("1", r[0], r[2]);
        assertEquals("align4j: --judge: " + valid, r[2].trim());
        Path tasks = tmp.resolve("tasks.jsonl");
        Files.writeString(tasks, LabelInputsTest.task("t1", 2));
        r = run("", "label", "simulate", "--tasks", tasks.toString(), "--out", tmp.resolve("j.jsonl").toString(),
                "--annotator", "sim", "--judge", "bogus");
        assertEquals("1", r[0], r[2]);
        assertEquals("align4j: --judge: " + valid, r[2].trim());
        Path config = tmp.resolve("p.json");
        Files.writeString(config, PipelineCommandTest.BASE + "\"annotators\": {\"judge\": \"bogus\"}}");
        r = run("", "pipeline", "--config", config.toString(), "--out", tmp.resolve("p").toString());
        assertEquals("1", r[0], r[2]);
        assertEquals("align4j: " + config + ": setting 'annotators.judge': " + valid, r[2].trim());
        assertFalse(r[2].contains("--reward-fn"));
    }

    @Test
    void initNamesTheHeadsRuleWithTheValuesGiven() {
        String out = tmp.resolve("m").toString();
        String[] r = run("", "init", "--tokenizer", MODEL, "--d-model", "64", "--heads", "3", "--out", out);
        assertEquals("1", r[0], r[2]);
        assertEquals("align4j: --heads 3 must divide --d-model 64 (each head gets --d-model / --heads dimensions)",
                r[2].trim());
        r = run("", "init", "--tokenizer", MODEL, "--arch", "llama", "--d-model", "36", "--heads", "4", "--out", out);
        assertEquals("1", r[0], r[2]);
        assertEquals("align4j: --d-model 36 / --heads 4 = 9: --arch llama needs an even head size (rotary"
                + " embeddings turn pairs of dimensions)", r[2].trim());
    }

    @Test
    void onlyOptionsTheCommandHasAreSuggested() throws Exception {
        Path bad = tmp.resolve("bad.jsonl");
        Files.writeString(bad, "{\"prompt\": \"q\", \"chosen\": \"a\", \"rejected\": \"b\"}\n{\"prompt\": \"q\"}\n");
        String[] r = run("", "score", "--model", MODEL, "--data", bad.toString());
        assertEquals("1", r[0], r[2]);
        assertTrue(r[2].contains(bad + ": 1 bad record(s); fix them:"), r[2]);
        assertFalse(r[2].contains("skip-bad-records") || r[2].contains("skip_bad_records"), r[2]);
        // a training command has the option, and says how to give it in a config file too
        r = run("", "reward", "--model", MODEL, "--train", bad.toString(), "--out", tmp.resolve("rm").toString());
        assertEquals("1", r[0], r[2]);
        assertTrue(r[2].contains(bad + ": 1 bad record(s); fix them or pass --skip-bad-records (skip_bad_records:"
                + " true in a config file):"), r[2]);
    }

    @Test
    void dataValidateReportsEveryFileANonUtf8LineIncluded() throws Exception {
        Path a = tmp.resolve("a.jsonl");
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write("{\"text\": \"one\"}\n{\"text\": \"t".getBytes(StandardCharsets.UTF_8));
        b.write(new byte[] {(byte) 0xFF});
        b.write("wo\"}\n{\"text\": \"three\"}\n".getBytes(StandardCharsets.UTF_8));
        Files.write(a, b.toByteArray());
        Path c = tmp.resolve("c.jsonl");
        Files.writeString(c, "{\"prompt\": \"q\"}\n{\"prompt\": \"q\", \"completion\": \" a\"}\n");
        String[] r = run("", "data", "validate", a.toString(), c.toString());
        assertEquals("1", r[0], r[2]);
        assertTrue(r[1].contains(a + ":2: not_utf8: not valid UTF-8 (byte 12 of the line is 0xff)"), r[1]);
        assertTrue(r[1].contains(c + ":1: "), "the next file is checked too: " + r[1]);
        assertTrue(r[1].contains(a + ": 3 records read as text, 1 with errors"), r[1]);
        assertTrue(r[1].contains(c + ": 2 records read as completion, 1 with errors"), r[1]);
        assertTrue(r[1].contains("FAILED"), r[1]);
    }
}
