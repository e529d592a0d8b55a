package org.align4j.cli;

import static org.align4j.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code compare} and {@code label prepare} refuse their mistakes before sampling: two policies of
 * one name, and a prompt with no room left for a response in the model's context, named by its
 * FILE:LINE.
 */
class PromptChecksTest {

    static final String MODEL = "../examples/base-model";

    @TempDir
    Path tmp;

    private Path prompts() throws Exception {
        Path p = tmp.resolve("prompts.jsonl");
        Files.writeString(p, "{\"prompt\": \"Mia found a small box.\"}\n{\"prompt\": \""
                + "the cat sat on the mat and looked at the dog. ".repeat(60) + "\"}\n");
        return p;
    }

    @Test
    void compareRefusesTwoPoliciesOfOneName() throws Exception {
        Path out = tmp.resolve("cmp");
        String[] r = run("", "compare", "--reference", MODEL, "--policy", "a=" + MODEL, "--policy", "b=" + MODEL,
                "--policy", "a=" + tmp, "--prompts", prompts().toString(), "--out", out.toString());
        assertEquals("1", r[0], r[2]);
        assertEquals("align4j: --policy a is given twice (a=" + MODEL + " and a=" + tmp + "): give each policy its"
                + " own name", r[2].trim());
        assertFalse(Files.exists(out));
    }

    @Test
    void compareNamesTheLineOfAPromptTooLongForTheContext() throws Exception {
        Path out = tmp.resolve("cmp");
        Path p = prompts();
        String[] r = run("", "compare", "--reference", MODEL, "--policy", "a=" + MODEL, "--prompts", p.toString(),
                "--max-new-tokens", "4", "--out", out.toString());
        assertEquals("1", r[0], r[2]);
        assertTrue(r[2].startsWith("align4j: " + p + ":2: the prompt has "), r[2]);
        assertTrue(r[2].contains("leaves no room for a response in the context of " + MODEL + " (256 positions);"
                + " shorten it to at most 255 tokens"), r[2]);
        assertFalse(Files.exists(out));
    }

    @Test
    void labelPrepareNamesTheLineOfAPromptTooLongForTheContext() throws Exception {
        Path out = tmp.resolve("tasks.jsonl");
        Path p = prompts();
        String[] r = run("", "label", "prepare", "--model", MODEL, "--prompts", p.toString(), "--k", "2",
                "--max-new-tokens", "4", "--out", out.toString());
        assertEquals("1", r[0], r[2]);
        assertTrue(r[2].startsWith("align4j: " + p + ":2: the prompt has "), r[2]);
        assertFalse(r[2].contains("candidates: 1"), "no sampling before the check: " + r[2]);
        assertFalse(Files.exists(out));
    }
}
