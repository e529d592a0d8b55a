package org.align4j.cli;

import static org.align4j.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.align4j.core.checkpoint.PeftAdapter;
import org.align4j.core.checkpoint.Safetensors;
import org.align4j.core.run.RunDirectory;
import org.align4j.core.util.Json;

/**
 * LoRA through the command line: the run writes PEFT adapter directories (config keys, tensor
 * names and shapes as PEFT's), checkpoints hold the adapter and its optimizer state only, a run
 * killed with SIGKILL resumes to the same losses, an adapter generates like its merged model,
 * and DPO with LoRA takes its reference from the base with the adapters off (the same
 * log-probabilities as a full DPO run's reference).
 */
class LoraRunTest {

    @TempDir
    static Path tmp;
    static TinyModel.TextAndPairs data;

    @BeforeAll
    static void modelAndData() throws Exception {
        data = TinyModel.textAndPairs(tmp, 4, 300);
    }

    private static String[] sft(Path out, int steps, String... extra) {
        List<String> a = new ArrayList<>(List.of("sft", "--model", data.model().toString(), "--train", data.text().toString(),
                "--out", out.toString(), "--max-steps", Integer.toString(steps), "--batch-size", "8", "--lr", "1e-2",
                "--save-every", "5", "--keep-last", "3", "--seed", "5", "--max-length", "32", "--no-packing",
                "--lora-r", "4", "--lora-alpha", "8", "--lora-targets", "c_attn,c_proj"));
        a.addAll(List.of(extra));
        return a.toArray(new String[0]);
    }

    @Test
    void peftAdaptersResumeAfterSigkillAndMergeToTheSameModel() throws Exception {
        Path out = tmp.resolve("lora");
        String[] r = run("", sft(out, 60));
        assertEquals("0", r[0], r[2]);
        List<Double> expected = TinyModel.losses(out);
        assertTrue(expected.get(expected.size() - 1) < expected.get(0) - 0.2, "the adapters learn: " + expected);

        Path fin = out.resolve("final");
        assertTrue(PeftAdapter.isAdapter(fin));
        assertFalse(Files.exists(fin.resolve("model.safetensors")), "the adapter only, not the base");
        JsonNode cfg = Json.MAPPER.readTree(fin.resolve("adapter_config.json").toFile());
        assertEquals("LORA", cfg.get("peft_type").asText());
        assertEquals("CAUSAL_LM", cfg.get("task_type").asText());
        assertEquals(4, cfg.get("r").asInt());
        assertEquals(8.0, cfg.get("lora_alpha").asDouble());
        assertEquals(0.0, cfg.get("lora_dropout").asDouble());
        assertTrue(cfg.get("fan_in_fan_out").asBoolean());
        assertEquals("none", cfg.get("bias").asText());
        // the base, relative to the adapter: found from any working directory
        assertEquals(data.model().toRealPath(), fin.resolve(cfg.get("base_model_name_or_path").asText()).toRealPath());
        assertEquals(List.of("c_attn", "c_proj"), List.of(cfg.get("target_modules").get(0).asText(),
                cfg.get("target_modules").get(1).asText()));
        long adapterParams = 0;
        try (Safetensors.Reader w = Safetensors.open(fin.resolve("adapter_model.safetensors"))) {
            // TinyModel: 2 layers, d_model 64; c_attn 64 -> 192, attn.c_proj and mlp.c_proj -> 64
            var t = w.tensors();
            assertEquals(2 * 3 * 2, t.size(), t.keySet().toString());
            assertArrayEq(new long[] {4, 64}, t.get("base_model.model.transformer.h.0.attn.c_attn.lora_A.weight").shape());
            assertArrayEq(new long[] {192, 4}, t.get("base_model.model.transformer.h.0.attn.c_attn.lora_B.weight").shape());
            assertArrayEq(new long[] {4, 256}, t.get("base_model.model.transformer.h.1.mlp.c_proj.lora_A.weight").shape());
            assertArrayEq(new long[] {64, 4}, t.get("base_model.model.transformer.h.1.mlp.c_proj.lora_B.weight").shape());
            for (var info : t.values()) {
                adapterParams += info.elements();
            }
        }
        try (Safetensors.Reader o = Safetensors.open(out.resolve("checkpoints/step-55/optimizer.safetensors"))) {
            assertEquals(adapterParams, o.tensors().get("exp_avg").elements(), "optimizer state of the adapter only");
        }

        Path killed = tmp.resolve("lora-killed");
        TinyModel.killAfterCheckpoint(killed, 20, tmp.resolve("killed.log"), sft(killed, 60));
        assertEquals(RunDirectory.Status.RUNNING, new RunDirectory(killed).status(), "killed mid-run");
        String[] again = run("", sft(killed, 60, "--resume"));
        assertEquals("0", again[0], again[2]);
        assertEquals(expected, TinyModel.losses(killed), "exactly the losses of the uninterrupted run");

        Path merged = tmp.resolve("merged");
        String[] m = run("", "merge", "--model", fin.toString(), "--out", merged.toString());
        assertEquals("0", m[0], m[2]);
        assertTrue(Files.exists(merged.resolve("model.safetensors")));
        String[] ga = run("", "generate", "--model", fin.toString(), "--prompt", "the cat", "--max-new-tokens", "12");
        String[] gm = run("", "generate", "--model", merged.toString(), "--prompt", "the cat", "--max-new-tokens", "12");
        assertEquals("0", ga[0], ga[2]);
        assertEquals(ga[1], gm[1], "greedy text from the adapter equals the merged model's");
        String[] ea = run("", "eval", "--model", fin.toString(), "--data", data.text().toString(), "--json");
        String[] em = run("", "eval", "--model", merged.toString(), "--data", data.text().toString(), "--json");
        assertEquals("0", ea[0], ea[2]);
        assertEquals(loss(ea[1]), loss(em[1]), 1e-4, ea[1] + em[1]);
    }

    private static double loss(String evalOut) {
        try {
            return Json.MAPPER.readTree(evalOut).get("loss").asDouble();
        } catch (IOException e) {
            throw new AssertionError(evalOut, e);
        }
    }

    private static void assertArrayEq(long[] want, long[] got) {
        assertEquals(Arrays.toString(want), Arrays.toString(got));
    }

    @Test
    void qloraTrainsOnAQuantizedBaseAndNeedsLora() throws Exception {
        Path fp32 = tmp.resolve("qlora-fp32");
        assertEquals("0", run("", sft(fp32, 20))[0]);
        for (String kind : List.of("int8", "nf4")) {
            Path out = tmp.resolve("qlora-" + kind);
            String[] r = run("", sft(out, 20, "--quantize-base", kind));
            assertEquals("0", r[0], r[2]);
            List<Double> losses = TinyModel.losses(out);
            List<Double> base = TinyModel.losses(fp32);
            // the same adapters on a slightly different base: close to the fp32 run, and learning
            assertEquals(base.get(0), losses.get(0), "int8".equals(kind) ? 0.02 : 0.1, kind + " first loss");
            assertTrue(losses.get(19) < losses.get(0) - 0.1, kind + " learns: " + losses);
            assertTrue(PeftAdapter.isAdapter(out.resolve("final")));
        }
        String[] bad = run("", "sft", "--model", data.model().toString(), "--train", data.text().toString(), "--out",
                tmp.resolve("never").toString(), "--max-steps", "1", "--quantize-base", "nf4");
        assertEquals("1", bad[0]);
        assertTrue(bad[2].contains("--quantize-base needs --lora-r"), bad[2]);
    }

    @Test
    void dpoWithLoraTakesItsReferenceFromTheBase() throws Exception {
        Path full = tmp.resolve("dpo-full");
        Path lora = tmp.resolve("dpo-lora");
        String[] common = {"dpo", "--model", data.model().toString(), "--train", data.pairs().toString(), "--max-steps", "3",
                "--batch-size", "8", "--lr", "1e-3", "--seed", "2"};
        List<String> a = new ArrayList<>(List.of(common));
        a.addAll(List.of("--out", full.toString()));
        assertEquals("0", run("", a.toArray(new String[0]))[0]);
        List<String> b = new ArrayList<>(List.of(common));
        b.addAll(List.of("--out", lora.toString(), "--lora-r", "8"));
        String[] r = run("", b.toArray(new String[0]));
        assertEquals("0", r[0], r[2]);
        JsonNode fullRef = Json.MAPPER.readTree(full.resolve("reference_logps.json").toFile()).get("train");
        JsonNode loraRef = Json.MAPPER.readTree(lora.resolve("reference_logps.json").toFile()).get("train");
        assertEquals(fullRef.size(), loraRef.size());
        for (int i = 0; i < fullRef.size(); i++) {
            for (int j = 0; j < 2; j++) {
                assertEquals(fullRef.get(i).get(j).asDouble(), loraRef.get(i).get(j).asDouble(), 1e-4);
            }
        }
        // at step 1 the adapters are zero: the policy is its reference, the loss ln 2
        assertEquals(Math.log(2), TinyModel.losses(lora).get(0), 1e-5);
        assertTrue(PeftAdapter.isAdapter(lora.resolve("final")));
    }
}
