package org.align4j.cli;

import static org.align4j.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.align4j.core.checkpoint.PeftAdapter;
import org.align4j.core.run.RunDirectory;
import org.align4j.core.util.Json;
import org.align4j.reward.RewardStats;

/**
 * Adapters as people use them: a run that starts from an adapter (given as {@code --model}, or as
 * {@code --model BASE --adapter DIR}) takes that adapter's model as its reference, with or without
 * new adapters of its own (DPO starts at ln 2, PPO at KL 0); a QLoRA reward model scores on the
 * quantized base it was trained on; an adapter finds its base from any working directory; and an
 * adapter of another model family is named as such by {@code merge}.
 */
class AdapterRunTest {

    @TempDir
    static Path tmp;
    static TinyModel.TextAndPairs data;
    /** An SFT adapter trained far from its base, its base given relative to the working directory. */
    static Path adapter;

    @BeforeAll
    static void adapterFarFromItsBase() throws Exception {
        data = TinyModel.textAndPairs(tmp, 7, 200);
        String relativeBase = Path.of("").toAbsolutePath().relativize(data.model().toAbsolutePath()).toString();
        // deeper than the working directory: a path relative to one is not relative to the other
        Path out = tmp.resolve("runs/lora/sft");
        String[] r = run("", "sft", "--model", relativeBase, "--train", data.text().toString(), "--out",
                out.toString(), "--max-steps", "15", "--batch-size", "8", "--lr", "2e-2", "--seed", "5",
                "--max-length", "32", "--no-packing", "--lora-r", "4", "--lora-alpha", "16", "--lora-targets",
                "c_attn,c_proj");
        assertEquals("0", r[0], r[2]);
        adapter = out.resolve("final");
        // the adapter's model is far from the base: a reference taken from the base would show
        assertTrue(Math.abs(evalLoss("--model", adapter.toString()) - evalLoss("--model", data.model().toString()))
                > 0.05, "the adapter changed the model");
    }

    private static double evalLoss(String... model) throws Exception {
        List<String> a = new ArrayList<>(List.of("eval", "--data", data.text().toString(), "--json"));
        a.addAll(List.of(model));
        String[] r = run("", a.toArray(new String[0]));
        assertEquals("0", r[0], r[2]);
        return Json.MAPPER.readTree(r[1]).get("loss").asDouble();
    }

    private static String[] args(List<String> common, String... extra) {
        List<String> a = new ArrayList<>(common);
        a.addAll(List.of(extra));
        return a.toArray(new String[0]);
    }

    @Test
    void dpoFromAnAdapterStartsAtLn2WithAndWithoutAdaptersOfItsOwn() throws Exception {
        List<List<String>> models = List.of(List.of("--model", adapter.toString()),
                List.of("--model", adapter.toString(), "--lora-r", "4"),
                List.of("--model", data.model().toString(), "--adapter", adapter.toString()),
                List.of("--model", data.model().toString(), "--adapter", adapter.toString(), "--lora-r", "4"));
        for (int i = 0; i < models.size(); i++) {
            Path out = tmp.resolve("dpo-" + i);
            List<String> a = new ArrayList<>(List.of("dpo", "--train", data.pairs().toString(), "--out", out.toString(),
                    "--max-steps", "2", "--batch-size", "8", "--lr", "1e-3", "--seed", "2"));
            a.addAll(models.get(i));
            String[] r = run("", a.toArray(new String[0]));
            assertEquals("0", r[0], models.get(i) + ": " + r[2]);
            // the policy starts as the adapter's model, which is its reference: D = 0, loss ln 2
            assertEquals(Math.log(2), TinyModel.losses(out).get(0), 1e-6, models.get(i).toString());
            assertTrue(PeftAdapter.isAdapter(out.resolve("final")));
        }
        // new adapters stacked on the loaded one name it as their base, and load anywhere a model does
        JsonNode cfg = Json.MAPPER.readTree(tmp.resolve("dpo-1/final").resolve(PeftAdapter.CONFIG).toFile());
        assertEquals(adapter.toRealPath(), tmp.resolve("dpo-1/final").resolve(cfg.get("base_model_name_or_path")
                .asText()).toRealPath());
        assertNotEquals(evalLoss("--model", adapter.toString()), evalLoss("--model", tmp.resolve("dpo-1/final")
                .toString()), "the stacked adapter trained");
    }

    @Test
    void ppoFromAnAdapterStartsAtKlZeroWithAndWithoutAdaptersOfItsOwn() throws Exception {
        List<String> common = List.of("ppo", "--model", adapter.toString(), "--reward-fn", "regex:red", "--prompts",
                data.pairs().toString(), "--max-steps", "1", "--batch-size", "4", "--samples-per-prompt", "2",
                "--lr", "1e-3", "--max-new-tokens", "8", "--seed", "3");
        for (List<String> extra : List.of(List.<String>of(), List.of("--lora-r", "4"))) {
            Path out = tmp.resolve("ppo" + String.join("", extra));
            String[] r = run("", args(common, args(extra, "--out", out.toString())));
            assertEquals("0", r[0], extra + ": " + r[2]);
            JsonNode first = new RunDirectory(out).metrics().get(0);
            assertEquals(0.0, first.get("objective/kl").asDouble(), 1e-6, extra + ": the policy is its reference "
                    + first);
        }
    }

    @Test
    void thePipelinesDpoAndPpoStartFromItsLoraSftModel() throws Exception {
        Path config = tmp.resolve("lora-pipeline.json");
        Files.writeString(config, PipelineCommandTest.TINY.replace("\"sft\": {\"max_steps\": 2, \"batch_size\": 8}",
                "\"sft\": {\"max_steps\": 4, \"batch_size\": 8, \"lora_r\": 4, \"lr\": 0.05}"));
        assertTrue(Files.readString(config).contains("lora_r"));
        Path out = tmp.resolve("lora-pipeline");
        String[] r = run("", "pipeline", "--config", config.toString(), "--out", out.toString());
        assertEquals("0", r[0], r[2]);
        assertTrue(PeftAdapter.isAdapter(out.resolve("sft/final")));
        assertEquals(Math.log(2), TinyModel.losses(out.resolve("dpo")).get(0), 1e-6, "DPO starts at its reference");
        for (String ppo : List.of("ppo", "ppo-ptx")) {
            JsonNode first = new RunDirectory(out.resolve(ppo)).metrics().get(0);
            assertEquals(0.0, first.get("objective/kl").asDouble(), 1e-6, ppo + " starts at its reference " + first);
        }
    }

    @Test
    void onlyThePipelinesSftTakesAnAdapter() throws Exception {
        Path config = tmp.resolve("adapter-on-dpo.json");
        Files.writeString(config, PipelineCommandTest.TINY.replace("\"dpo\": {", "\"dpo\": {\"adapter\": \""
                + adapter + "\", "));
        Path out = tmp.resolve("never-pipeline");
        String[] r = run("", "pipeline", "--config", config.toString(), "--out", out.toString());
        assertEquals("1", r[0], r[2]);
        assertTrue(r[2].contains("section 'dpo'") && r[2].contains("'adapter' is set by the pipeline"), r[2]);
        assertFalse(Files.exists(out.resolve("sft")), "refused before any stage");
    }

    @Test
    void aQloraRewardModelScoresOnTheQuantizedBaseItWasTrainedOn() throws Exception {
        Path out = tmp.resolve("rm-nf4");
        String[] r = run("", "reward", "--model", data.model().toString(), "--train", data.pairs().toString(), "--out",
                out.toString(), "--max-steps", "10", "--batch-size", "8", "--lr", "5e-3", "--seed", "7", "--lora-r", "4",
                "--quantize-base", "nf4");
        assertEquals("0", r[0], r[2]);
        Path fin = out.resolve("final");
        RewardStats stats = RewardStats.read(fin);
        List<Double> rewards = scores(fin, "--model", fin.toString());
        assertEquals(stats.count(), rewards.size());
        double mean = rewards.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        double var = rewards.stream().mapToDouble(x -> (x - mean) * (x - mean)).average().orElseThrow();
        assertEquals(stats.mean(), mean, 1e-5, "score gives the rewards training computed");
        assertEquals(stats.std(), Math.sqrt(var), 1e-5);
        // the base given beside the adapter: the same rewards
        assertEquals(rewards, scores(fin, "--model", data.model().toString(), "--adapter", fin.toString()));
    }

    /** The rewards of every training response (chosen, then rejected, per pair) as {@code score} gives them. */
    private static List<Double> scores(Path rm, String... model) throws Exception {
        Path scored = tmp.resolve("scored-" + System.nanoTime() + ".jsonl");
        List<String> a = new ArrayList<>(List.of("score", "--data", data.pairs().toString(), "--out", scored.toString()));
        a.addAll(List.of(model));
        String[] r = run("", a.toArray(new String[0]));
        assertEquals("0", r[0], r[2]);
        List<Double> out = new ArrayList<>();
        for (String l : Files.readAllLines(scored)) {
            JsonNode o = Json.MAPPER.readTree(l);
            out.add(o.get("reward_chosen").asDouble());
            out.add(o.get("reward_rejected").asDouble());
        }
        return out;
    }

    @Test
    void theBaseWithAdapterIsTheAdapterDirectory() throws Exception {
        String base = data.model().toString();
        assertEquals(evalLoss("--model", adapter.toString()), evalLoss("--model", base, "--adapter",
                adapter.toString()));
        String[] g = {"generate", "--prompt", "the cat", "--max-new-tokens", "12"};
        String[] ga = run("", args(List.of(g), "--model", adapter.toString()));
        String[] gb = run("", args(List.of(g), "--model", base, "--adapter", adapter.toString()));
        assertEquals("0", gb[0], gb[2]);
        assertEquals(ga[1], gb[1]);
        assertNotEquals(ga[1], run("", args(List.of(g), "--model", base))[1], "the adapter is on");

        Path prompts = tmp.resolve("label-prompts.jsonl");
        Files.writeString(prompts, "{\"prompt\": \"the cat\"}\n{\"prompt\": \"a big\"}\n");
        List<String> prepare = List.of("label", "prepare", "--prompts", prompts.toString(), "--k", "2",
                "--max-new-tokens", "6");
        Path ta = tmp.resolve("tasks-a.jsonl");
        Path tb = tmp.resolve("tasks-b.jsonl");
        String[] pa = run("", args(prepare, "--model", adapter.toString(), "--out", ta.toString()));
        assertEquals("0", pa[0], pa[2]);
        String[] pb = run("", args(prepare, "--model", base, "--adapter", adapter.toString(), "--out", tb.toString()));
        assertEquals("0", pb[0], pb[2]);
        assertEquals(Files.readString(ta), Files.readString(tb));
    }

    @Test
    void anAdapterFindsItsBaseFromAnyWorkingDirectory() throws Exception {
        JsonNode cfg = Json.MAPPER.readTree(adapter.resolve(PeftAdapter.CONFIG).toFile());
        String named = cfg.get("base_model_name_or_path").asText();
        assertFalse(Path.of(named).isAbsolute(), named);
        assertEquals(data.model().toRealPath(), adapter.resolve(named).toRealPath(), "relative to the adapter");

        // a process started in another directory loads it
        Path elsewhere = Files.createDirectories(tmp.resolve("elsewhere/a/b"));
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "org.align4j.cli.Align4j", "eval", "--model",
                adapter.toAbsolutePath().toString(), "--data", data.text().toAbsolutePath().toString(), "--json"));
        Path log = tmp.resolve("elsewhere.log");
        Process p = new ProcessBuilder(cmd).directory(elsewhere.toFile()).redirectOutput(log.toFile())
                .redirectError(tmp.resolve("elsewhere.err").toFile()).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), Files.readString(tmp.resolve("elsewhere.err")));
        assertEquals(evalLoss("--model", adapter.toString()),
                Json.MAPPER.readTree(Files.readString(log)).get("loss").asDouble());

        // an adapter written before: its base relative to the working directory, still read
        Path old = Files.createDirectories(tmp.resolve("old/style/adapter"));
        for (String f : List.of(PeftAdapter.CONFIG, PeftAdapter.WEIGHTS, "vocab.json", "merges.txt")) {
            if (Files.exists(adapter.resolve(f))) {
                Files.copy(adapter.resolve(f), old.resolve(f));
            }
        }
        ObjectNode c = (ObjectNode) cfg.deepCopy();
        c.put("base_model_name_or_path", Path.of("").toAbsolutePath().relativize(data.model().toAbsolutePath())
                .toString());
        Files.writeString(old.resolve(PeftAdapter.CONFIG), c.toString());
        assertEquals(evalLoss("--model", adapter.toString()), evalLoss("--model", old.toString()));
    }

    @Test
    void mergeNamesAnAdapterOfAnotherFamilyAsSuch() throws Exception {
        Path llama = Files.createDirectories(tmp.resolve("llama-adapter"));
        Files.writeString(llama.resolve(PeftAdapter.CONFIG), """
                {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": 4, "lora_alpha": 8, "lora_dropout": 0.0,
                 "target_modules": ["q_proj", "v_proj"], "bias": "none",
                 "base_model_name_or_path": "meta-llama/Llama-3.2-1B"}
                """);
        Path out = tmp.resolve("never-merged");
        String[] r = run("", "merge", "--model", data.model().toString(), "--adapter", llama.toString(), "--out",
                out.toString());
        assertEquals("1", r[0], r[2]);
        assertTrue(r[2].contains("trained on another model family"), r[2]);
        assertTrue(r[2].contains("meta-llama/Llama-3.2-1B") && r[2].contains(data.model().toString())
                && r[2].contains("GPT-2"), "names both bases and the family: " + r[2]);
        assertFalse(r[2].contains("--lora-targets"), r[2]);
        assertFalse(Files.exists(out));
    }
}
