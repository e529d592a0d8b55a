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
 * PEFT's LoRA variants through the shared training options: an SFT run with --lora-dropout,
 * --use-rslora and --use-dora writes PEFT's keys and DoRA's magnitudes under PEFT's names, learns,
 * leaves its base's files byte for byte as they were, resumes after SIGKILL to exactly the losses of
 * the uninterrupted run (dropout's masks included) and merges to a model that generates what the
 * adapter generates; reward, DPO and PPO train with the same options; a Llama-family model trains
 * and merges with them too.
 */
class LoraVariantsRunTest {

    @TempDir
    static Path tmp;
    static TinyModel.TextAndPairs data;

    private static final List<String> VARIANTS = List.of("--lora-r", "4", "--lora-alpha", "8", "--lora-dropout", "0.1",
            "--use-rslora", "--use-dora");

    @BeforeAll
    static void modelAndData() throws Exception {
        data = TinyModel.textAndPairs(tmp, 4, 300);
    }

    private static String[] args(List<String> a, String... extra) {
        List<String> all = new ArrayList<>(a);
        all.addAll(List.of(extra));
        return all.toArray(new String[0]);
    }

    private static String[] sft(Path out, int steps, String... extra) {
        List<String> a = new ArrayList<>(List.of("sft", "--model", data.model().toString(), "--train",
                data.text().toString(), "--out", out.toString(), "--max-steps", Integer.toString(steps),
                "--batch-size", "8", "--lr", "1e-2", "--save-every", "5", "--keep-last", "3", "--seed", "5",
                "--max-length", "32", "--no-packing", "--lora-targets", "c_attn,c_proj"));
        a.addAll(VARIANTS);
        return args(a, extra);
    }

    @Test
    void sftWithDropoutRsloraAndDoraResumesExactlyAndMerges() throws Exception {
        byte[] baseBefore = Files.readAllBytes(data.model().resolve("model.safetensors"));
        Path out = tmp.resolve("variants");
        String[] r = run("", sft(out, 30));
        assertEquals("0", r[0], r[2]);
        List<Double> expected = TinyModel.losses(out);
        assertTrue(expected.get(expected.size() - 1) < expected.get(0) - 0.2, "the adapters learn: " + expected);
        assertArrayEquals(baseBefore, Files.readAllBytes(data.model().resolve("model.safetensors")),
                "the frozen base is untouched");

        Path fin = out.resolve("final");
        JsonNode cfg = Json.MAPPER.readTree(fin.resolve("adapter_config.json").toFile());
        assertEquals(0.1, cfg.get("lora_dropout").asDouble());
        assertTrue(cfg.get("use_rslora").asBoolean() && cfg.get("use_dora").asBoolean(), cfg.toString());
        JsonNode runConfig = Json.MAPPER.readTree(out.resolve("config.json").toFile());
        assertTrue(runConfig.toString().contains("\"use_dora\":true"), runConfig.toString());
        try (Safetensors.Reader w = Safetensors.open(fin.resolve("adapter_model.safetensors"))) {
            var t = w.tensors();
            assertEquals(2 * 3 * 3, t.size(), t.keySet().toString());
            // TinyModel: d_model 64; c_attn 64 -> 192, mlp.c_proj 256 -> 64
            assertArrayEquals(new long[] {192},
                    t.get("base_model.model.transformer.h.0.attn.c_attn.lora_magnitude_vector").shape());
            assertArrayEquals(new long[] {64},
                    t.get("base_model.model.transformer.h.1.mlp.c_proj.lora_magnitude_vector").shape());
        }

        Path killed = tmp.resolve("variants-killed");
        TinyModel.killAfterCheckpoint(killed, 10, tmp.resolve("killed.log"), sft(killed, 30));
        assertEquals(RunDirectory.Status.RUNNING, new RunDirectory(killed).status(), "killed mid-run");
        String[] again = run("", sft(killed, 30, "--resume"));
        assertEquals("0", again[0], again[2]);
        assertEquals(expected, TinyModel.losses(killed), "exactly the losses of the uninterrupted run");

        Path merged = tmp.resolve("variants-merged");
        String[] m = run("", "merge", "--model", fin.toString(), "--out", merged.toString());
        assertEquals("0", m[0], m[2]);
        String[] ga = run("", "generate", "--model", fin.toString(), "--prompt", "the cat", "--max-new-tokens", "12");
        String[] gm = run("", "generate", "--model", merged.toString(), "--prompt", "the cat", "--max-new-tokens", "12");
        assertEquals("0", ga[0], ga[2]);
        assertEquals(ga[1], gm[1], "greedy text from the adapter equals the merged model's");
    }

    @Test
    void rewardDpoAndPpoTrainWithTheVariants() throws Exception {
        List<List<String>> stages = List.of(
                List.of("reward", "--model", data.model().toString(), "--train", data.pairs().toString(),
                        "--batch-size", "4"),
                List.of("dpo", "--model", data.model().toString(), "--train", data.pairs().toString(),
                        "--batch-size", "4"),
                List.of("ppo", "--model", data.model().toString(), "--reward-fn", "regex:red", "--prompts",
                        data.pairs().toString(), "--batch-size", "4", "--samples-per-prompt", "2",
                        "--max-new-tokens", "8"));
        for (List<String> stage : stages) {
            Path out = tmp.resolve("stage-" + stage.get(0));
            List<String> a = new ArrayList<>(stage);
            a.addAll(VARIANTS);
            String[] r = run("", args(a, "--out", out.toString(), "--max-steps", "2", "--lr", "1e-3", "--seed", "3"));
            assertEquals("0", r[0], stage.get(0) + ": " + r[2]);
            assertEquals(2, new RunDirectory(out).metrics().size(), stage.get(0));
            JsonNode cfg = Json.MAPPER.readTree(out.resolve("final/adapter_config.json").toFile());
            assertTrue(cfg.get("use_dora").asBoolean() && cfg.get("use_rslora").asBoolean(), stage.get(0));
        }
        String[] bad = run("", "sft", "--model", data.model().toString(), "--train", data.text().toString(), "--out",
                tmp.resolve("never").toString(), "--max-steps", "1", "--use-dora");
        assertEquals("1", bad[0]);
        assertTrue(bad[2].contains("--use-dora"), bad[2]);
    }

    @Test
    void aLlamaFamilyModelTrainsAndMergesWithTheVariants() throws Exception {
        Path llama = tmp.resolve("llama");
        String[] r = run("", "init", "--tokenizer", data.model().toString(), "--arch", "llama", "--layers", "2",
                "--d-model", "64", "--heads", "4", "--kv-heads", "2", "--context", "64", "--seed", "3", "--out",
                llama.toString());
        assertEquals("0", r[0], r[2]);
        Path out = tmp.resolve("llama-variants");
        List<String> a = new ArrayList<>(List.of("sft", "--model", llama.toString(), "--train", data.text().toString(),
                "--out", out.toString(), "--max-steps", "12", "--batch-size", "8", "--lr", "1e-2", "--seed", "5",
                "--max-length", "32", "--no-packing"));
        a.addAll(VARIANTS);
        r = run("", args(a));
        assertEquals("0", r[0], r[2]);
        List<Double> losses = TinyModel.losses(out);
        assertTrue(losses.get(losses.size() - 1) < losses.get(0), "learns: " + losses);
        Path fin = out.resolve("final");
        try (Safetensors.Reader w = Safetensors.open(fin.resolve("adapter_model.safetensors"))) {
            // PEFT's default targets for the family, q_proj 64 -> 64 and v_proj 64 -> 32
            assertArrayEquals(new long[] {32},
                    w.tensors().get("base_model.model.model.layers.1.self_attn.v_proj.lora_magnitude_vector").shape());
        }
        Path merged = tmp.resolve("llama-merged");
        r = run("", "merge", "--model", fin.toString(), "--out", merged.toString());
        assertEquals("0", r[0], r[2]);
        String[] ga = run("", "generate", "--model", fin.toString(), "--prompt", "the dog", "--temperature", "0",
                "--max-new-tokens", "8");
        String[] gm = run("", "generate", "--model", merged.toString(), "--prompt", "the dog", "--temperature", "0",
                "--max-new-tokens", "8");
        assertEquals("0", ga[0], ga[2]);
        assertEquals(ga[1], gm[1], "the merged model generates what the adapter does");
    }
}
