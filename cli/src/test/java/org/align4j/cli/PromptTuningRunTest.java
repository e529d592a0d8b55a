package org.align4j.cli;

import static org.align4j.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.align4j.core.checkpoint.Safetensors;
import org.align4j.core.run.RunDirectory;
import org.align4j.core.util.Json;

/**
 * Prompt tuning through the shared training options ({@code --peft prompt_tuning}): an SFT run
 * started from an init text learns, writes PEFT's PROMPT_TUNING config and {@code prompt_embeddings},
 * leaves its base's files byte for byte as they were, resumes after SIGKILL to exactly the losses of
 * the uninterrupted run, generates from the adapter directory, and is refused by merge with a message
 * that says why; DPO trains with it. Prefix tuning ({@code --peft prefix_tuning}) likewise learns,
 * writes PEFT's table, resumes exactly, generates and is refused by merge; through the
 * reparameterisation MLP ({@code --prefix-projection}) it resumes exactly too.
 */
class PromptTuningRunTest {

    @TempDir
    static Path tmp;
    static TinyModel.TextAndPairs data;

    @BeforeAll
    static void modelAndData() throws Exception {
        data = TinyModel.textAndPairs(tmp, 4, 300);
    }

    private static String[] sft(Path out, int steps, String... extra) {
        List<String> a = new ArrayList<>(List.of("sft", "--model", data.model().toString(), "--train",
                data.text().toString(), "--out", out.toString(), "--max-steps", Integer.toString(steps),
                "--batch-size", "8", "--lr", "0.3", "--save-every", "5", "--keep-last", "3", "--seed", "5",
                "--max-length", "32", "--no-packing", "--peft", "prompt_tuning", "--num-virtual-tokens", "16",
                "--prompt-tuning-init-text", "a story about"));
        a.addAll(List.of(extra));
        return a.toArray(new String[0]);
    }

    @Test
    void sftWithPromptTuningLearnsResumesExactlyGeneratesAndRefusesMerge() throws Exception {
        byte[] baseBefore = Files.readAllBytes(data.model().resolve("model.safetensors"));
        Path out = tmp.resolve("pt");
        String[] r = run("", sft(out, 30));
        assertEquals("0", r[0], r[2]);
        List<Double> expected = TinyModel.losses(out);
        // a random tiny base (tied embeddings of norm ~0.16) caps what an input can do to the logits: the
        // prompt takes most of its gain in the first steps; the first step's loss (the initial prompt)
        // against the mean of the last five (a batch's noise is about 0.02)
        double first = expected.get(0);
        double last = expected.subList(expected.size() - 5, expected.size()).stream().mapToDouble(Double::doubleValue)
                .average().orElseThrow();
        assertTrue(last < first - 0.03, "the prompt learns: " + first + " -> " + last + " " + expected);
        assertArrayEquals(baseBefore, Files.readAllBytes(data.model().resolve("model.safetensors")),
                "the frozen base is untouched");

        Path fin = out.resolve("final");
        JsonNode cfg = Json.MAPPER.readTree(fin.resolve("adapter_config.json").toFile());
        assertEquals("PROMPT_TUNING", cfg.get("peft_type").asText());
        assertEquals(16, cfg.get("num_virtual_tokens").asInt());
        assertEquals("TEXT", cfg.get("prompt_tuning_init").asText());
        assertEquals("a story about", cfg.get("prompt_tuning_init_text").asText());
        try (Safetensors.Reader w = Safetensors.open(fin.resolve("adapter_model.safetensors"))) {
            assertArrayEquals(new long[] {16, 64}, w.tensors().get("prompt_embeddings").shape());
        }

        Path killed = tmp.resolve("pt-killed");
        TinyModel.killAfterCheckpoint(killed, 10, tmp.resolve("killed.log"), sft(killed, 30));
        assertEquals(RunDirectory.Status.RUNNING, new RunDirectory(killed).status(), "killed mid-run");
        String[] again = run("", sft(killed, 30, "--resume"));
        assertEquals("0", again[0], again[2]);
        assertEquals(expected, TinyModel.losses(killed), "exactly the losses of the uninterrupted run");

        String[] ga = run("", "generate", "--model", fin.toString(), "--prompt", "the cat", "--max-new-tokens", "12");
        assertEquals("0", ga[0], ga[2]);
        String[] gb = run("", "generate", "--model", data.model().toString(), "--prompt", "the cat",
                "--max-new-tokens", "12");
        assertTrue(!ga[1].equals(gb[1]), "the prompt changes what the model says");
        String[] m = run("", "merge", "--model", fin.toString(), "--out", tmp.resolve("pt-merged").toString());
        assertEquals("1", m[0]);
        assertTrue(m[2].contains("prompt tuning cannot be merged") && !m[2].contains("\tat "), m[2]);
    }

    @Test
    void sftWithPrefixTuningLearnsResumesExactlyGeneratesAndRefusesMerge() throws Exception {
        List<String> prefix = List.of("sft", "--model", data.model().toString(), "--train", data.text().toString(),
                "--max-steps", "30", "--batch-size", "8", "--lr", "0.1", "--save-every", "5", "--keep-last", "3",
                "--seed", "5", "--max-length", "32", "--no-packing", "--peft", "prefix_tuning", "--num-virtual-tokens",
                "8");
        Path out = tmp.resolve("prefix");
        List<String> a = new ArrayList<>(prefix);
        a.addAll(List.of("--out", out.toString()));
        String[] r = run("", a.toArray(new String[0]));
        assertEquals("0", r[0], r[2]);
        List<Double> expected = TinyModel.losses(out);
        double last = expected.subList(expected.size() - 5, expected.size()).stream().mapToDouble(Double::doubleValue)
                .average().orElseThrow();
        assertTrue(last < expected.get(0) - 0.03, "the prefix learns: " + expected);
        JsonNode cfg = Json.MAPPER.readTree(out.resolve("final/adapter_config.json").toFile());
        assertEquals("PREFIX_TUNING", cfg.get("peft_type").asText());
        try (Safetensors.Reader w = Safetensors.open(out.resolve("final/adapter_model.safetensors"))) {
            // TinyModel: 2 layers of d_model 64, keys and values each
            assertArrayEquals(new long[] {8, 2 * 2 * 64}, w.tensors().get("prompt_embeddings").shape());
        }

        Path killed = tmp.resolve("prefix-killed");
        List<String> k = new ArrayList<>(prefix);
        k.addAll(List.of("--out", killed.toString()));
        TinyModel.killAfterCheckpoint(killed, 10, tmp.resolve("killed-prefix.log"), k.toArray(new String[0]));
        k.add("--resume");
        String[] again = run("", k.toArray(new String[0]));
        assertEquals("0", again[0], again[2]);
        assertEquals(expected, TinyModel.losses(killed), "exactly the losses of the uninterrupted run");

        String[] ga = run("", "generate", "--model", out.resolve("final").toString(), "--prompt", "the cat",
                "--max-new-tokens", "12");
        assertEquals("0", ga[0], ga[2]);
        String[] m = run("", "merge", "--model", out.resolve("final").toString(), "--out",
                tmp.resolve("prefix-merged").toString());
        assertEquals("1", m[0]);
        assertTrue(m[2].contains("prefix tuning cannot be merged"), m[2]);
    }

    /** The reparameterisation MLP is not in PEFT's files: align4j's own file beside them makes the resume exact. */
    @Test
    void prefixTuningThroughTheProjectionResumesExactly() throws Exception {
        List<String> args = List.of("sft", "--model", data.model().toString(), "--train", data.text().toString(),
                "--max-steps", "12", "--batch-size", "8", "--lr", "1e-2", "--save-every", "4", "--keep-last", "3",
                "--seed", "5", "--max-length", "32", "--no-packing", "--peft", "prefix_tuning", "--num-virtual-tokens",
                "4", "--prefix-projection", "32");
        Path out = tmp.resolve("projection");
        List<String> a = new ArrayList<>(args);
        a.addAll(List.of("--out", out.toString()));
        String[] r = run("", a.toArray(new String[0]));
        assertEquals("0", r[0], r[2]);
        List<Double> expected = TinyModel.losses(out);
        JsonNode cfg = Json.MAPPER.readTree(out.resolve("final/adapter_config.json").toFile());
        assertTrue(cfg.get("prefix_projection").asBoolean() && cfg.get("encoder_hidden_size").asInt() == 32,
                cfg.toString());
        assertTrue(Files.isRegularFile(out.resolve("final/align4j_prefix_encoder.safetensors")));

        Path killed = tmp.resolve("projection-killed");
        List<String> k = new ArrayList<>(args);
        k.addAll(List.of("--out", killed.toString()));
        TinyModel.killAfterCheckpoint(killed, 4, tmp.resolve("killed-projection.log"), k.toArray(new String[0]));
        k.add("--resume");
        String[] again = run("", k.toArray(new String[0]));
        assertEquals("0", again[0], again[2]);
        assertEquals(expected, TinyModel.losses(killed), "exactly the losses of the uninterrupted run");
    }

    @Test
    void dpoTrainsWithPromptTuning() throws Exception {
        Path out = tmp.resolve("pt-dpo");
        String[] r = run("", "dpo", "--model", data.model().toString(), "--train", data.pairs().toString(),
                "--batch-size", "4", "--out", out.toString(), "--max-steps", "2", "--lr", "1e-2", "--seed", "3",
                "--peft", "prompt_tuning", "--num-virtual-tokens", "2");
        assertEquals("0", r[0], r[2]);
        assertEquals(2, new RunDirectory(out).metrics().size());
        String[] bad = run("", "sft", "--model", data.model().toString(), "--train", data.text().toString(), "--out",
                tmp.resolve("never").toString(), "--max-steps", "1", "--prompt-tuning-init-text", "hi");
        assertEquals("1", bad[0]);
        assertTrue(bad[2].contains("--prompt-tuning-init-text"), bad[2]);
    }
}
