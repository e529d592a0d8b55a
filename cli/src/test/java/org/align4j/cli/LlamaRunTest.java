package org.align4j.cli;

import static org.align4j.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import org.align4j.core.checkpoint.LlamaDirectory;
import org.align4j.core.checkpoint.Safetensors;
import org.align4j.core.kernels.GenericKernels;
import org.align4j.core.model.LlamaModel;
import org.align4j.core.model.TokenBatch;
import org.align4j.core.run.RunDirectory;
import org.align4j.core.tokenizer.BpeTokenizer;
import org.align4j.core.tokenizer.TokenizerFiles;
import org.align4j.core.util.Json;

/**
 * Every stage on a tiny random Llama-family model through the command line: a BF16 sharded
 * checkpoint in Hugging Face's layout loads and generates what a full forward of its weights
 * predicts; SFT learns and resumes exactly after SIGKILL; DPO starts at ln 2 from its SFT model
 * and learns the pairs; a reward model saves as LlamaForSequenceClassification and learns the
 * rule; PPO trains a policy against it; eval and bench run.
 */
class LlamaRunTest {

    @TempDir
    static Path tmp;
    static TinyModel.TextAndPairs data;
    static Path llama;

    @BeforeAll
    static void modelAndData() throws Exception {
        data = TinyModel.textAndPairs(tmp, 9, 300);
        llama = tmp.resolve("llama");
        String[] r = run("", "init", "--tokenizer", tmp.resolve("model-tok").toString(), "--arch", "llama",
                "--layers", "2", "--d-model", "160", "--heads", "4", "--kv-heads", "2", "--context", "64",
                "--dtype", "bf16", "--shard-mb", "1", "--seed", "3", "--out", llama.toString());
        assertEquals("0", r[0], r[2]);
    }

    private static List<String> args(String... a) {
        return new ArrayList<>(List.of(a));
    }

    @Test
    void aBf16ShardedCheckpointLoadsAndGeneratesWhatItsWeightsPredict() throws Exception {
        assertTrue(Files.isRegularFile(llama.resolve("model.safetensors.index.json")));
        List<Path> shards;
        try (Stream<Path> s = Files.list(llama)) {
            shards = s.filter(p -> p.getFileName().toString().matches("model-0000\\d-of-0000\\d\\.safetensors"))
                    .toList();
        }
        assertTrue(shards.size() >= 2, shards.toString());
        try (Safetensors.Reader w = Safetensors.open(shards.get(0))) {
            assertEquals("BF16", w.tensors().values().iterator().next().dtype());
        }
        JsonNode config = Json.MAPPER.readTree(llama.resolve("config.json").toFile());
        assertEquals("LlamaForCausalLM", config.get("architectures").get(0).asText());
        assertEquals(2, config.get("num_key_value_heads").asInt());

        String[] g = run("", "generate", "--model", llama.toString(), "--prompt", "the cat sat", "--temperature",
                "0", "--max-new-tokens", "6", "--json");
        assertEquals("0", g[0], g[2]);
        JsonNode out = Json.MAPPER.readTree(g[1].lines().findFirst().orElseThrow());
        int[] generated = Json.MAPPER.convertValue(out.get("token_ids"), int[].class);

        // the oracle: repeated full forwards (no cache) of the same weights, argmax of the last row
        LlamaModel m = LlamaDirectory.load(llama, new GenericKernels(), DataType.FLOAT);
        BpeTokenizer tok = TokenizerFiles.load(llama);
        List<Integer> seq = new ArrayList<>();
        for (int id : tok.encode("the cat sat")) {
            seq.add(id);
        }
        int[] expected = new int[generated.length];
        for (int i = 0; i < expected.length; i++) {
            int[] ids = seq.stream().mapToInt(Integer::intValue).toArray();
            INDArray logits = m.forward(TokenBatch.of(new int[][] {ids}));
            expected[i] = logits.getRow(ids.length - 1).argMax().getInt(0);
            seq.add(expected[i]);
        }
        assertArrayEquals(expected, generated);
    }

    @Test
    void sftResumesExactlyThenDpoRewardAndPpoTrainOnIt() throws Exception {
        Path sft = tmp.resolve("sft");
        List<String> sftArgs = args("sft", "--model", llama.toString(), "--train", data.text().toString(), "--out",
                sft.toString(), "--max-steps", "30", "--batch-size", "8", "--lr", "3e-3", "--save-every", "5",
                "--keep-last", "2", "--seed", "5", "--max-length", "32", "--no-packing");
        String[] r = run("", sftArgs.toArray(new String[0]));
        assertEquals("0", r[0], r[2]);
        List<Double> losses = TinyModel.losses(sft);
        assertTrue(losses.get(losses.size() - 1) < losses.get(0) - 1.0, "SFT learns: " + losses);
        JsonNode saved = Json.MAPPER.readTree(sft.resolve("final/config.json").toFile());
        assertEquals("llama", saved.get("model_type").asText());

        Path killed = tmp.resolve("sft-killed");
        List<String> killedArgs = new ArrayList<>(sftArgs);
        killedArgs.set(killedArgs.indexOf(sft.toString()), killed.toString());
        TinyModel.killAfterCheckpoint(killed, 10, tmp.resolve("kill.log"), killedArgs.toArray(new String[0]));
        killedArgs.add("--resume");
        r = run("", killedArgs.toArray(new String[0]));
        assertEquals("0", r[0], r[2]);
        assertEquals(losses, TinyModel.losses(killed), "resumed after SIGKILL: the same losses");

        r = run("", "eval", "--model", sft.resolve("final").toString(), "--data", data.text().toString());
        assertEquals("0", r[0], r[2]);

        Path dpo = tmp.resolve("dpo");
        r = run("", "dpo", "--model", sft.resolve("final").toString(), "--train", data.pairs().toString(), "--out",
                dpo.toString(), "--max-steps", "40", "--batch-size", "8", "--lr", "2e-3", "--seed", "5");
        assertEquals("0", r[0], r[2]);
        List<JsonNode> dm = new RunDirectory(dpo).metrics();
        assertEquals(Math.log(2), dm.get(0).get("loss").asDouble(), 1e-4, "policy = reference at the start");
        double early = dm.subList(0, 5).stream().mapToDouble(n -> n.get("loss").asDouble()).average().orElseThrow();
        double late = dm.subList(dm.size() - 5, dm.size()).stream().mapToDouble(n -> n.get("loss").asDouble())
                .average().orElseThrow();
        assertTrue(late < early - 0.2, "DPO learns the pairs: " + early + " -> " + late);

        Path reward = tmp.resolve("reward");
        r = run("", "reward", "--model", sft.resolve("final").toString(), "--train", data.pairs().toString(),
                "--out", reward.toString(), "--max-steps", "40", "--batch-size", "8", "--lr", "2e-3", "--seed", "7");
        assertEquals("0", r[0], r[2]);
        JsonNode rc = Json.MAPPER.readTree(reward.resolve("final/config.json").toFile());
        assertEquals("LlamaForSequenceClassification", rc.get("architectures").get(0).asText());
        try (Safetensors.Reader w = Safetensors.open(reward.resolve("final/model.safetensors"))) {
            assertArrayEquals(new long[] {1, 160}, w.tensors().get("score.weight").shape());
            assertTrue(w.tensors().containsKey("model.layers.1.mlp.down_proj.weight"));
        }
        List<JsonNode> rm = new RunDirectory(reward).metrics();
        double acc = rm.subList(rm.size() - 10, rm.size()).stream().mapToDouble(n -> n.get("accuracy").asDouble())
                .average().orElseThrow();
        assertTrue(acc > 0.7, "the reward model learns the rule: " + acc);

        Path prompts = tmp.resolve("prompts.jsonl");
        Files.writeString(prompts, "{\"prompt\": \"the cat\"}\n{\"prompt\": \"a dog\"}\n{\"prompt\": \"the mat\"}\n");
        Path ppo = tmp.resolve("ppo");
        r = run("", "ppo", "--model", sft.resolve("final").toString(), "--reward-model",
                reward.resolve("final").toString(), "--prompts", prompts.toString(), "--out", ppo.toString(),
                "--max-steps", "3", "--batch-size", "4", "--samples-per-prompt", "2", "--max-new-tokens", "8",
                "--seed", "3");
        assertEquals("0", r[0], r[2]);
        assertEquals(3, new RunDirectory(ppo).metrics().size());
        assertTrue(Files.isRegularFile(ppo.resolve("final/config.json")));
    }

    @Test
    void loraWritesPeftsLlamaLayoutMergesToTheSameModelAndTrainsOnAQuantizedBase() throws Exception {
        Path out = tmp.resolve("lora");
        String[] r = run("", "sft", "--model", llama.toString(), "--train", data.text().toString(), "--out",
                out.toString(), "--max-steps", "30", "--batch-size", "8", "--lr", "1e-2", "--seed", "5",
                "--max-length", "32", "--no-packing", "--lora-r", "4", "--lora-alpha", "8");
        assertEquals("0", r[0], r[2]);
        List<Double> losses = TinyModel.losses(out);
        assertTrue(losses.get(losses.size() - 1) < losses.get(0) - 0.5, "the adapters learn: " + losses);
        Path fin = out.resolve("final");
        JsonNode cfg = Json.MAPPER.readTree(fin.resolve("adapter_config.json").toFile());
        assertEquals("CAUSAL_LM", cfg.get("task_type").asText());
        assertTrue(!cfg.get("fan_in_fan_out").asBoolean(), "Linear weights");
        assertEquals(List.of("q_proj", "v_proj"), List.of(cfg.get("target_modules").get(0).asText(),
                cfg.get("target_modules").get(1).asText()), "PEFT's default targets for Llama");
        try (Safetensors.Reader w = Safetensors.open(fin.resolve("adapter_model.safetensors"))) {
            var t = w.tensors();
            assertEquals(2 * 2 * 2, t.size(), t.keySet().toString());
            // d_model 160, 2 of 4 heads' width for key/value: q_proj 160 -> 160, v_proj 160 -> 80
            assertArrayEquals(new long[] {4, 160},
                    t.get("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight").shape());
            assertArrayEquals(new long[] {80, 4},
                    t.get("base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight").shape());
        }
        Path merged = tmp.resolve("lora-merged");
        r = run("", "merge", "--model", fin.toString(), "--out", merged.toString());
        assertEquals("0", r[0], r[2]);
        String[] fromAdapter = run("", "generate", "--model", fin.toString(), "--prompt", "the dog", "--temperature",
                "0", "--max-new-tokens", "8");
        String[] fromMerged = run("", "generate", "--model", merged.toString(), "--prompt", "the dog", "--temperature",
                "0", "--max-new-tokens", "8");
        assertEquals("0", fromAdapter[0], fromAdapter[2]);
        assertEquals(fromAdapter[1], fromMerged[1], "the merged model generates what the adapter does");

        // QLoRA: the same run on an NF4 base starts at nearly the same loss and learns too
        Path qlora = tmp.resolve("qlora");
        r = run("", "sft", "--model", llama.toString(), "--train", data.text().toString(), "--out", qlora.toString(),
                "--max-steps", "30", "--batch-size", "8", "--lr", "1e-2", "--seed", "5", "--max-length", "32",
                "--no-packing", "--lora-r", "4", "--lora-alpha", "8", "--quantize-base", "nf4");
        assertEquals("0", r[0], r[2]);
        List<Double> q = TinyModel.losses(qlora);
        assertEquals(losses.get(0), q.get(0), 0.1, "NF4 base: first loss near the fp32 base's");
        assertTrue(q.get(q.size() - 1) < q.get(0) - 0.5, "QLoRA learns: " + q);
    }

    @Test
    void benchMeasuresALlamaShape() {
        String[] r = run("", "bench", "--arch", "llama", "--layers", "2", "--d-model", "64", "--heads", "4",
                "--kv-heads", "2", "--seq-len", "32", "--batch-size", "2", "--vocab", "256", "--steps", "2",
                "--warmup-steps", "1", "--gen-tokens", "8", "--json");
        assertEquals("0", r[0], r[2]);
        assertTrue(r[2].contains("model: llama"), r[2]);
        assertTrue(r[1].contains("\"train_tokens_per_s\""), r[1]);
    }
}
