package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.kernels.GenericKernels;
import org.align4j.core.model.GptConfig;
import org.align4j.core.model.GptModel;
import org.align4j.core.tokenizer.BpeTokenizer;
import org.align4j.core.tokenizer.TokenizerFiles;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

/** The command line end to end, in process: exit codes, outputs, error messages. */
class CliTest {

    @TempDir
    static Path tmp;
    static Path modelDir;

    /** Runs align4j with the given standard input; returns {exit code, stdout, stderr}. */
    static String[] run(String stdin, String... args) {
        InputStream oldIn = System.in;
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setIn(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Align4j.run(args);
            return new String[] {String.valueOf(code), out.toString(StandardCharsets.UTF_8),
                    err.toString(StandardCharsets.UTF_8)};
        } finally {
            System.setIn(oldIn);
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @BeforeAll
    static void trainTokenizerAndModel() throws Exception {
        Path corpus = tmp.resolve("corpus.txt");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 300; i++) {
            sb.append("the quick brown fox jumps over the lazy dog number ").append(i).append(".\n");
        }
        Files.writeString(corpus, sb);
        modelDir = tmp.resolve("model");
        String[] r = run("", "tokenizer", "train", "--input", corpus.toString(), "--vocab-size", "300", "--special",
                "<|endoftext|>", "--out", modelDir.toString());
        assertEquals("0", r[0], r[2]);
        BpeTokenizer tok = TokenizerFiles.load(modelDir);
        assertEquals(300, tok.vocabSize());
        GptConfig cfg = GptConfig.of(300, 32, 16, 1, 2);
        GptModel m = new GptModel(cfg, new GenericKernels(), DataType.FLOAT).initialize(1);
        ModelDirectory.save(m, modelDir);
    }

    @Test
    void encodeThenDecodeRoundTrips() {
        String text = "the lazy fox, 42 times!\n  and émoji 🦊";
        String[] enc = run(text, "tokenizer", "encode", "--tokenizer", modelDir.toString());
        assertEquals("0", enc[0], enc[2]);
        assertTrue(enc[1].trim().matches("\\d+( \\d+)*"), enc[1]);
        String[] dec = run(enc[1], "tokenizer", "decode", "--tokenizer", modelDir.resolve("tokenizer.json").toString());
        assertEquals("0", dec[0], dec[2]);
        assertEquals(text, dec[1]);
    }

    @Test
    void generateJsonHasTheDocumentedFields() throws Exception {
        String[] r = run("", "generate", "--model", modelDir.toString(), "--prompt", "the quick", "--max-new-tokens",
                "5", "--temperature", "0", "--logprobs", "3", "--json");
        assertEquals("0", r[0], r[2]);
        JsonNode o = new ObjectMapper().readTree(r[1].trim());
        for (String f : new String[] {"prompt", "completion", "prompt_token_ids", "token_ids", "logprobs",
            "top_logprobs", "finish_reason"}) {
            assertTrue(o.has(f), "missing " + f + " in " + r[1]);
        }
        assertEquals("the quick", o.get("prompt").asText());
        assertEquals(o.get("token_ids").size(), o.get("logprobs").size());
        assertEquals(3, o.get("top_logprobs").get(0).size());
        JsonNode first = o.get("top_logprobs").get(0).get(0);
        assertTrue(first.has("token") && first.has("id") && first.has("logprob"));
        assertEquals(o.get("token_ids").get(0).asInt(), first.get("id").asInt(), "greedy picks the top token");
    }

    @Test
    void promptsFileErrorsNameTheLine() throws Exception {
        Path prompts = tmp.resolve("prompts.jsonl");
        Files.writeString(prompts, "{\"prompt\": \"the\"}\n{\"prompt\": 3}\n");
        String[] r = run("", "generate", "--model", modelDir.toString(), "--prompts", prompts.toString());
        assertEquals("1", r[0]);
        assertTrue(r[2].contains(prompts + ":2:"), r[2]);
        Files.writeString(prompts, "{\"prompt\": \"the\"}\n\n{not json\n");
        r = run("", "generate", "--model", modelDir.toString(), "--prompts", prompts.toString());
        assertTrue(r[2].contains(prompts + ":3: not JSON"), r[2]);
    }

    @Test
    void missingModelIsOneLineAndExitOne() {
        String[] r = run("", "generate", "--model", tmp.resolve("nope").toString(), "--prompt-ids", "1,2");
        assertEquals("1", r[0]);
        assertTrue(r[2].startsWith("align4j: ") && r[2].contains("nope") && r[2].trim().lines().count() == 1, r[2]);
    }

    @Test
    void badIdsToDecodeAreRefused() {
        String[] r = run("1 2 x", "tokenizer", "decode", "--tokenizer", modelDir.toString());
        assertEquals("1", r[0]);
        assertTrue(r[2].contains("'x'"), r[2]);
    }

    @Test
    void dataValidateExitCodesAndCompilerStyleLines() throws Exception {
        Path good = tmp.resolve("good.jsonl");
        Files.writeString(good, "{\"prompt\": \"a\", \"completion\": \" 1\"}\n{\"prompt\": \"b\", \"completion\": \" 2\"}\n");
        String[] ok = run("", "data", "validate", good.toString(), "--tokenizer", modelDir.toString(), "--max-length", "3");
        assertEquals("0", ok[0], ok[1] + ok[2]);
        assertTrue(ok[1].contains("tokens per record: min"), ok[1]);
        // the size estimate: each record's tokens up to --max-length 3, times OpenAI's suggested epochs (100 / 2 capped at 25)
        assertTrue(ok[1].contains("estimated training tokens: 6 billed tokens per epoch x 25 epochs = 150"), ok[1]);
        JsonNode est = new ObjectMapper().readTree(run("", "data", "validate", good.toString(), "--tokenizer",
                modelDir.toString(), "--max-length", "3", "--json")[1]);
        assertEquals(6, est.get("tokens").get("billed_tokens").asLong());
        assertEquals(150, est.get("estimated_training_tokens").asLong());
        Path bad = tmp.resolve("bad.jsonl");
        Files.writeString(bad, "{\"prompt\": \"a\", \"completion\": \" 1\"}\n{\"prompt\": \"b\"\n");
        String[] r = run("", "data", "validate", bad.toString());
        assertEquals("1", r[0]);
        assertTrue(r[1].contains(bad + ":2: not_json: not JSON: "), r[1]);
        assertTrue(!r[1].contains("[Source"), r[1]);
        String[] js = run("", "data", "validate", bad.toString(), "--json");
        assertEquals("1", js[0]);
        JsonNode o = new ObjectMapper().readTree(js[1]);
        assertEquals(2, o.get("problems").get(0).get("line").asInt());
        assertEquals(1, o.get("invalid_records").asInt());
    }

    @Test
    void labelPrepareExportAgreementAndStats() throws Exception {
        Path prompts = tmp.resolve("label-prompts.jsonl");
        Files.writeString(prompts, "{\"prompt\": \"the quick\"}\n{\"id\": \"q2\", \"prompt\": \"the lazy\"}\n");
        Path tasks = tmp.resolve("label-tasks.jsonl");
        String[] prep = run("", "label", "prepare", "--model", modelDir.toString(), "--prompts", prompts.toString(),
                "--k", "3", "--max-new-tokens", "6", "--seed", "2", "--out", tasks.toString());
        assertEquals("0", prep[0], prep[2]);
        java.util.List<org.align4j.data.label.LabelTask> t = org.align4j.data.label.LabelTask.read(tasks);
        assertEquals(2, t.size());
        assertEquals("q2", t.get(1).id());
        assertEquals(3, new java.util.HashSet<>(t.get(0).responses()).size(), "K distinct responses");
        Path judgments = tmp.resolve("label-judgments.jsonl");
        for (String who : new String[] {"ann", "bob"}) {
            String[] s = run("A>B=C\nC>B>A # because\n", "label", "session", "--tasks", tasks.toString(), "--out",
                    judgments.toString(), "--annotator", who);
            assertEquals("0", s[0], s[2]);
        }
        String[] ag = run("", "label", "agreement", "--in", judgments.toString(), "--tasks", tasks.toString());
        assertEquals("0", ag[0], ag[2]);
        assertTrue(ag[1].contains("Cohen's kappa") && ag[1].contains("Krippendorff"), ag[1]);
        Path pairs = tmp.resolve("label-pairs.jsonl");
        String[] ex = run("", "label", "export", "--in", judgments.toString(), "--tasks", tasks.toString(), "--to",
                "pairs", "--out", pairs.toString());
        assertEquals("0", ex[0], ex[2]);
        // 2 annotators x 2 tasks; a ranking A>B=C gives 2 pairs, C>B>A gives 3
        assertEquals(2 * (2 + 3), Files.readAllLines(pairs).size());
        String[] st = run("", "label", "stats", "--in", judgments.toString());
        assertTrue(st[1].contains("ann") && st[1].contains("bob"), st[1]);
    }
}
