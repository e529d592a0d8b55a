package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Inputs a new user gets wrong, each answered by one line that names the file, line or option,
 * and a non-zero exit before any work: never a silent wrong result, a stack trace or a hang.
 */
class BadInputTest {

    @TempDir
    static Path tmp;
    static Path model;

    @BeforeAll
    static void tinyModel() throws Exception {
        model = TinyModel.create(tmp, TinyModel.corpus(new SplittableRandom(4), 200), "bad-input-model");
    }

    /** {exit code, stdout + stderr} of a command run in-process with {@code stdin}. */
    static Object[] run(byte[] stdin, String... args) {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        PrintStream oldErr = System.err;
        PrintStream oldOut = System.out;
        InputStream oldIn = System.in;
        try {
            PrintStream both = new PrintStream(all, true, StandardCharsets.UTF_8);
            System.setErr(both);
            System.setOut(both);
            System.setIn(new ByteArrayInputStream(stdin == null ? new byte[0] : stdin));
            int code = Align4j.run(args);
            return new Object[] {code, all.toString(StandardCharsets.UTF_8)};
        } finally {
            System.setErr(oldErr);
            System.setOut(oldOut);
            System.setIn(oldIn);
        }
    }

    static String expectFailure(Object[] r, String... fragments) {
        String out = (String) r[1];
        assertEquals(1, r[0], out);
        for (String f : fragments) {
            assertTrue(out.contains(f), "expected '" + f + "' in: " + out);
        }
        assertFalse(out.contains("\tat ") || out.contains("Exception"), "no stack trace: " + out);
        return out;
    }

    @Test
    void sftWhoseCompletionsAreAllCutAwayRefusesToTrainOnNothing() throws Exception {
        Path data = tmp.resolve("long-prompts.jsonl");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            sb.append("{\"prompt\": \"").append("the cat sat on the mat. ".repeat(40)).append("\", \"completion\": \" a dog\"}\n");
        }
        Files.writeString(data, sb);
        Path out = tmp.resolve("nothing-run");
        expectFailure(run(null, "sft", "--model", model.toString(), "--train", data.toString(), "--out", out.toString(),
                "--max-steps", "3", "--batch-size", "4"), data + ": no example has a trained token within --max-length 64");
        assertFalse(Files.isDirectory(out.resolve("final")), "no model claims to be trained");
    }

    @Test
    void evalRefusesGenerationLongerThanTheContextAndCountsCutPrompts() throws Exception {
        Path data = tmp.resolve("eval.jsonl");
        Files.writeString(data, "{\"prompt\": \"" + "the cat sat. ".repeat(30) + "\", \"completion\": \" a dog\"}\n"
                + "{\"prompt\": \"the dog\", \"completion\": \" ran\"}\n");
        expectFailure(run(null, "eval", "--model", model.toString(), "--data", data.toString(), "--generate",
                "--max-new-tokens", "300"), "--max-new-tokens 300 leaves no room for a prompt", "at most 63");
        Object[] r = run(null, "eval", "--model", model.toString(), "--data", data.toString(), "--generate",
                "--max-new-tokens", "40");
        assertEquals(0, r[0], (String) r[1]);
        assertTrue(((String) r[1]).contains("1 of 2 prompt(s) were longer than the 24 tokens"), (String) r[1]);
    }

    @Test
    void aChatThatOpensWithTheAssistantValidatesAndEvaluates() throws Exception {
        Path data = tmp.resolve("assistant-only.jsonl");
        Files.writeString(data, "{\"messages\": [{\"role\": \"assistant\", \"content\": \"the cat sat\"}]}\n");
        Object[] v = run(null, "data", "validate", data.toString());
        assertEquals(0, v[0], (String) v[1]);
        Object[] r = run(null, "eval", "--model", model.toString(), "--data", data.toString(), "--generate",
                "--max-new-tokens", "4");
        assertEquals(0, r[0], (String) r[1]);
    }

    @Test
    void invalidUtf8IsReportedAtItsOwnLine() throws Exception {
        Path data = tmp.resolve("bad-utf8.jsonl");
        byte[] good = "{\"prompt\": \"the cat\", \"completion\": \" sat\"}\n".getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int i = 0; i < 499; i++) {
            b.write(good);
        }
        // bytes 1-16 are {"prompt": "the , 17-18 the é, 19 the bad lead byte 0xC3
        b.write("{\"prompt\": \"the \u00e9".getBytes(StandardCharsets.UTF_8));
        b.write(new byte[] {(byte) 0xC3, (byte) 0x28});
        b.write("\"}\n".getBytes(StandardCharsets.UTF_8));
        b.write(good);
        Files.write(data, b.toByteArray());
        expectFailure(run(null, "data", "validate", data.toString()), data + ":500: not_utf8: not valid UTF-8 (byte 19"
                + " of the line is 0xc3)");
        expectFailure(run(null, "generate", "--model", model.toString(), "--prompts", data.toString(),
                "--max-new-tokens", "2"), data + ":500: not valid UTF-8");
        // tokenizer encode refuses rather than replace bytes with U+FFFD
        expectFailure(run(new byte[] {'a', 'b', (byte) 0xFF, 'c'}, "tokenizer", "encode", "--tokenizer",
                model.toString()), "standard input: not valid UTF-8 at byte offset 2 (0xff)");
    }

    @Test
    void directoriesAndEmptyFilesAreNamedForWhatTheyAre() throws Exception {
        expectFailure(run(null, "data", "validate", tmp.toString()), tmp + ": is a directory, not a file");
        expectFailure(run(null, "sft", "--model", model.toString(), "--train", tmp.toString(), "--out",
                tmp.resolve("dir-run").toString()), tmp + ": is a directory, not a file");
        Path empty = tmp.resolve("blank.jsonl");
        Files.writeString(empty, "\n   \n\n");
        expectFailure(run(null, "data", "validate", empty.toString()), empty + ":1: no_records");
        expectFailure(run(null, "sft", "--model", model.toString(), "--train", empty.toString(), "--out",
                tmp.resolve("empty-run").toString()), empty + ": no usable records");
    }
}
