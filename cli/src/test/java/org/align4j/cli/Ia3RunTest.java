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
 * IA3 through the shared training options ({@code --peft ia3}): an SFT run learns, writes PEFT's
 * IA3 config and {@code ia3_l} vectors under PEFT's names and shapes, leaves its base's files byte
 * for byte as they were, resumes after SIGKILL to exactly the losses of the uninterrupted run and
 * merges to a model that generates what the adapter generates; DPO trains with it (its reference
 * the policy with the vectors off); LoRA's options next to it are refused naming the option.
 */
class Ia3RunTest {

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
                "--max-length", "32", "--no-packing", "--peft", "ia3"));
        a.addAll(List.of(extra));
        return a.toArray(new String[0]);
    }

    @Test
    void sftWithIa3LearnsResumesExactlyAndMerges() throws Exception {
        byte[] baseBefore = Files.readAllBytes(data.model().resolve("model.safetensors"));
        Path out = tmp.resolve("ia3");
        String[] r = run("", sft(out, 30));
        assertEquals("0", r[0], r[2]);
        List<Double> expected = TinyModel.losses(out);
        assertTrue(expected.get(expected.size() - 1) < expected.get(0) - 0.1, "the vectors learn: " + expected);
        assertArrayEquals(baseBefore, Files.readAllBytes(data.model().resolve("model.safetensors")),
                "the frozen base is untouched");

        Path fin = out.resolve("final");
        JsonNode cfg = Json.MAPPER.readTree(fin.resolve("adapter_config.json").toFile());
        assertEquals("IA3", cfg.get("peft_type").asText());
        assertEquals("[\"c_attn\",\"mlp.c_proj\"]", cfg.get("target_modules").toString(), "PEFT's GPT-2 default");
        assertEquals("[\"mlp.c_proj\"]", cfg.get("feedforward_modules").toString());
        try (Safetensors.Reader w = Safetensors.open(fin.resolve("adapter_model.safetensors"))) {
            var t = w.tensors();
            assertEquals(2 * 2, t.size(), t.keySet().toString());
            // TinyModel: d_model 64; c_attn's output 192 scaled, mlp.c_proj's input 256
            assertArrayEquals(new long[] {192, 1}, t.get("base_model.model.transformer.h.0.attn.c_attn.ia3_l").shape());
            assertArrayEquals(new long[] {1, 256}, t.get("base_model.model.transformer.h.1.mlp.c_proj.ia3_l").shape());
        }

        Path killed = tmp.resolve("ia3-killed");
        TinyModel.killAfterCheckpoint(killed, 10, tmp.resolve("killed.log"), sft(killed, 30));
        assertEquals(RunDirectory.Status.RUNNING, new RunDirectory(killed).status(), "killed mid-run");
        String[] again = run("", sft(killed, 30, "--resume"));
        assertEquals("0", again[0], again[2]);
        assertEquals(expected, TinyModel.losses(killed), "exactly the losses of the uninterrupted run");

        Path merged = tmp.resolve("ia3-merged");
        String[] m = run("", "merge", "--model", fin.toString(), "--out", merged.toString());
        assertEquals("0", m[0], m[2]);
        String[] ga = run("", "generate", "--model", fin.toString(), "--prompt", "the cat", "--max-new-tokens", "12");
        String[] gm = run("", "generate", "--model", merged.toString(), "--prompt", "the cat", "--max-new-tokens", "12");
        assertEquals("0", ga[0], ga[2]);
        assertEquals(ga[1], gm[1], "greedy text from the adapter equals the merged model's");
    }

    @Test
    void dpoTrainsWithIa3AndLorasOptionsAreRefused() throws Exception {
        Path out = tmp.resolve("ia3-dpo");
        String[] r = run("", "dpo", "--model", data.model().toString(), "--train", data.pairs().toString(),
                "--batch-size", "4", "--out", out.toString(), "--max-steps", "2", "--lr", "1e-2", "--seed", "3",
                "--peft", "ia3", "--ia3-targets", "c_attn,c_fc,mlp.c_proj", "--ia3-feedforward", "mlp.c_proj");
        assertEquals("0", r[0], r[2]);
        assertEquals(2, new RunDirectory(out).metrics().size());
        JsonNode cfg = Json.MAPPER.readTree(out.resolve("final/adapter_config.json").toFile());
        assertEquals("[\"c_attn\",\"c_fc\",\"mlp.c_proj\"]", cfg.get("target_modules").toString());

        String[] bad = run("", "sft", "--model", data.model().toString(), "--train", data.text().toString(), "--out",
                tmp.resolve("never").toString(), "--max-steps", "1", "--peft", "ia3", "--lora-r", "4");
        assertEquals("1", bad[0]);
        assertTrue(bad[2].contains("--lora-r"), bad[2]);
        String[] notTarget = run("", "sft", "--model", data.model().toString(), "--train", data.text().toString(),
                "--out", tmp.resolve("never2").toString(), "--max-steps", "1", "--peft", "ia3", "--ia3-targets",
                "c_attn", "--ia3-feedforward", "c_fc");
        assertEquals("1", notTarget[0]);
        assertTrue(notTarget[2].contains("--ia3-feedforward"), notTarget[2]);
    }
}
