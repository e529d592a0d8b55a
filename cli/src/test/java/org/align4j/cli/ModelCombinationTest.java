package org.align4j.cli;

import static org.align4j.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.kernels.GenericKernels;
import org.align4j.core.tokenizer.BpeTokenizer;
import org.align4j.core.tokenizer.TokenizerFiles;
import org.align4j.core.util.Json;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Models combined as people combine them by mistake, and PPO's lengths: a reward model given where
 * a policy is expected, two models with different tokenizers, value-model settings given to a
 * critic-free estimator: each refused by one line naming the directories or the option, before any
 * work; and PPO cuts prompts and PPO-ptx text to --max-length as --truncation says.
 */
class ModelCombinationTest {

    @TempDir
    static Path tmp;
    /** A policy, a reward model on its tokenizer, and a model and a reward model on another tokenizer. */
    static Path model;
    static Path rm;
    static Path other;
    static Path otherRm;
    static Path prompts;
    static Path pairs;

    @BeforeAll
    static void models() throws Exception {
        model = TinyModel.create(tmp, TinyModel.corpus(new SplittableRandom(6), 300), "policy");
        other = TinyModel.create(tmp, TinyModel.corpus(new SplittableRandom(7), 300).toUpperCase(), "other");
        rm = rewardModel(model, "rm");
        otherRm = rewardModel(other, "other-rm");
        prompts = tmp.resolve("prompts.jsonl");
        StringBuilder p = new StringBuilder();
        for (String w : List.of("the cat", "the dog", "a mat", "the log", "a big", "small blue", "then a", "the")) {
            p.append("{\"prompt\": \"").append(w).append("\"}\n");
        }
        Files.writeString(prompts, p);
        pairs = TinyModel.writeRulePairs(tmp.resolve("pairs.jsonl"), new SplittableRandom(3), 8);
    }

    /** The model with a scalar head at zero, saved as GPT2ForSequenceClassification with its tokenizer. */
    static Path rewardModel(Path from, String name) throws Exception {
        Path dir = tmp.resolve(name);
        ModelDirectory.save(ModelDirectory.load(from, new GenericKernels(), DataType.FLOAT, true), dir);
        ModelDirectory.copyTokenizerFiles(from, dir);
        return dir;
    }

    /** Exit code 1 and exactly one error line, which holds every fragment; no stack trace. */
    static void refused(String[] r, String... fragments) {
        assertEquals("1", r[0], r[2]);
        List<String> errors = r[2].lines().filter(l -> l.startsWith("align4j: ")).toList();
        assertEquals(1, errors.size(), r[2]);
        for (String f : fragments) {
            assertTrue(errors.get(0).contains(f), "expected '" + f + "' in: " + r[2]);
        }
        assertFalse(r[2].contains("\tat ") || r[2].contains("Exception"), r[2]);
    }

    static String[] ppo(Path out, String... extra) {
        return ppoRewarded(out, List.of("--reward-fn", "regex:red"), extra);
    }

    static String[] ppoRewarded(Path out, List<String> reward, String... extra) {
        List<String> a = new ArrayList<>(List.of("ppo", "--model", model.toString(), "--prompts", prompts.toString(),
                "--out", out.toString(), "--max-steps", "1", "--batch-size", "8", "--samples-per-prompt", "2",
                "--max-new-tokens", "12", "--seed", "3", "--sample-every", "1"));
        a.addAll(reward);
        a.addAll(List.of(extra));
        return run("", a.toArray(new String[0]));
    }

    @Test
    void aRewardModelIsRefusedWhereverAPolicyIsExpected() throws Exception {
        String kind = rm + " is a reward model (GPT2ForSequenceClassification); a policy must be a causal LM";
        Path out = tmp.resolve("rm-as-policy");
        refused(run("", "dpo", "--model", rm.toString(), "--train", pairs.toString(), "--out", out.toString()), kind);
        refused(run("", "dpo", "--model", model.toString(), "--ref-model", rm.toString(), "--train", pairs.toString(),
                "--out", out.toString()), kind);
        refused(run("", "ppo", "--model", rm.toString(), "--reward-fn", "regex:red", "--prompts", prompts.toString(),
                "--out", out.toString()), kind);
        refused(run("", "sft", "--model", rm.toString(), "--train", pairs.toString(), "--out", out.toString()), kind);
        assertFalse(Files.exists(out), "refused before the run directory is made");
        refused(run("", "generate", "--model", rm.toString(), "--prompt", "the cat", "--max-new-tokens", "2"), kind);
        refused(run("", "eval", "--model", rm.toString(), "--data", pairs.toString()), kind);
        refused(run("", "compare", "--reference", model.toString(), "--policy", "rm=" + rm, "--prompts",
                prompts.toString(), "--out", out.toString()), kind);
        refused(run("", "label", "prepare", "--model", rm.toString(), "--prompts", prompts.toString(), "--k", "2",
                "--out", tmp.resolve("rm-tasks.jsonl").toString()), kind);
        Path config = tmp.resolve("rm-pipeline.json");
        Files.writeString(config, "{\"base_model\": " + Json.MAPPER.writeValueAsString(model.toString())
                + ", \"policies\": {\"rm\": " + Json.MAPPER.writeValueAsString(rm.toString()) + "}}");
        refused(run("", "pipeline", "--config", config.toString(), "--out", out.toString()), kind);
        assertFalse(Files.exists(out), "nothing written");
        // where a reward model is required, a causal LM is refused (reward --model SFT starts a head at zero)
        refused(ppoRewarded(out, List.of("--reward-model", model.toString())), model + ": not a reward model");
        refused(run("", "score", "--model", model.toString(), "--data", pairs.toString()),
                model + ": not a reward model");
        assertFalse(Files.exists(out), "nothing written");
    }

    @Test
    void modelsWithDifferentTokenizersAreRefusedNamingBoth() throws Exception {
        assertNotEquals(TokenizerFiles.load(model).fingerprint(), TokenizerFiles.load(other).fingerprint());
        Path out = tmp.resolve("two-tokenizers");
        refused(run("", "dpo", "--model", model.toString(), "--ref-model", other.toString(), "--train",
                pairs.toString(), "--out", out.toString()),
                "--ref-model " + other + " has another tokenizer than --model " + model);
        refused(ppo(out, "--value-model", other.toString()),
                "--value-model " + other + " has another tokenizer than --model " + model);
        refused(ppoRewarded(out, List.of("--reward-model", otherRm.toString())),
                "--reward-model " + otherRm + " has another tokenizer than --model " + model);
        assertFalse(Files.exists(out), "refused before the run directory is made");
        refused(run("", "compare", "--reference", model.toString(), "--policy", "other=" + other, "--prompts",
                prompts.toString(), "--out", out.toString()),
                "--policy other " + other + " has another tokenizer than --reference " + model);
        refused(run("", "compare", "--reference", model.toString(), "--policy", "same=" + model, "--reward-model",
                otherRm.toString(), "--prompts", prompts.toString(), "--out", out.toString()),
                "--reward-model " + otherRm + " has another tokenizer than --reference " + model);
        refused(run("", "generate", "--model", model.toString(), "--ref-model", other.toString(), "--json",
                "--temperature", "1", "--top-k", "0", "--top-p", "1", "--prompt", "the cat", "--max-new-tokens", "2"),
                "--ref-model " + other + " has another tokenizer than --model " + model);
        Path config = tmp.resolve("other-pipeline.json");
        Files.writeString(config, "{\"base_model\": " + Json.MAPPER.writeValueAsString(model.toString())
                + ", \"policies\": {\"other\": " + Json.MAPPER.writeValueAsString(other.toString()) + "}}");
        refused(run("", "pipeline", "--config", config.toString(), "--out", out.toString()),
                config + ": policies.other " + other + " has another tokenizer than " + config + ": base_model");
        assertFalse(Files.exists(out), "nothing written");
    }

    /** The prompt tokens each rollout was conditioned on, by prompt text, from samples/step-1.jsonl. */
    static List<JsonNode> samples(Path run) throws Exception {
        List<JsonNode> rows = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("samples").resolve("step-1.jsonl"))) {
            rows.add(Json.MAPPER.readTree(line));
        }
        return rows;
    }

    @Test
    void ppoCutsPromptsToMaxLengthAsTruncationSays() throws Exception {
        Path longPrompts = tmp.resolve("long-prompts.jsonl");
        SplittableRandom r = new SplittableRandom(11);
        StringBuilder p = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            String text = i % 2 == 0 ? "the cat" : TinyModel.sentence(r) + " " + TinyModel.sentence(r);
            p.append(Json.MAPPER.createObjectNode().put("prompt", text)).append('\n');
        }
        Files.writeString(longPrompts, p);
        BpeTokenizer tok = TokenizerFiles.load(model);
        // --max-length 24 less 12 new tokens leaves 12 prompt tokens (the context is 64)
        int keep = 12;
        for (String truncation : List.of("left", "right")) {
            Path out = tmp.resolve("cut-" + truncation);
            String[] res = ppo(out, "--prompts", longPrompts.toString(), "--max-length", "24", "--truncation",
                    truncation);
            assertEquals("0", res[0], res[2]);
            assertEquals(24, Json.MAPPER.readTree(out.resolve("config.json").toFile()).get("max_length").asInt());
            int cut = 0;
            for (JsonNode s : samples(out)) {
                int[] all = tok.encode(s.get("prompt").asText());
                int[] want = all.length <= keep ? all : truncation.equals("left")
                        ? Arrays.copyOfRange(all, all.length - keep, all.length) : Arrays.copyOf(all, keep);
                cut += all.length > keep ? 1 : 0;
                int[] used = new int[s.get("prompt_tokens").size()];
                for (int i = 0; i < used.length; i++) {
                    used[i] = s.get("prompt_tokens").get(i).asInt();
                }
                assertEquals(Arrays.toString(want), Arrays.toString(used), truncation + ": " + s);
            }
            assertEquals(8, cut, "4 long prompts x 2 samples were cut");
        }
        refused(ppo(tmp.resolve("no-room"), "--max-length", "12"),
                "--max-new-tokens 12 leaves no room for a prompt in --max-length 12");
    }

    @Test
    void ppoPtxBatchesAreCutToMaxLength() throws Exception {
        // texts longer than --max-length 24; left truncation keeps the last 25 tokens (24 inputs), the end of
        // text included. The oracle: the same run on those 24 tokens as text (plus the end of text), uncut
        BpeTokenizer tok = TokenizerFiles.load(model);
        SplittableRandom r = new SplittableRandom(12);
        StringBuilder full = new StringBuilder();
        StringBuilder cut = new StringBuilder();
        int kept = 0;
        while (kept < 12) {
            String text = TinyModel.sentence(r) + ". " + TinyModel.sentence(r) + ". " + TinyModel.sentence(r) + ".";
            int[] ids = tok.encode(text);
            if (ids.length < 30) {
                continue;
            }
            int[] last = Arrays.copyOfRange(ids, ids.length - 24, ids.length);
            String tail = tok.decode(last);
            if (!Arrays.equals(last, tok.encode(tail))) {
                continue;
            }
            full.append(Json.MAPPER.createObjectNode().put("text", text)).append('\n');
            cut.append(Json.MAPPER.createObjectNode().put("text", tail)).append('\n');
            kept++;
        }
        Path fullFile = tmp.resolve("ptx-full.jsonl");
        Path cutFile = tmp.resolve("ptx-cut.jsonl");
        Files.writeString(fullFile, full);
        Files.writeString(cutFile, cut);
        Path a = tmp.resolve("ptx-24");
        Path b = tmp.resolve("ptx-oracle");
        Path c = tmp.resolve("ptx-uncut");
        assertEquals("0", ppo(a, "--ptx-data", fullFile.toString(), "--max-length", "24", "--truncation", "left")[0]);
        assertEquals("0", ppo(b, "--ptx-data", cutFile.toString(), "--truncation", "left")[0]);
        assertEquals("0", ppo(c, "--ptx-data", fullFile.toString(), "--truncation", "left")[0]);
        float[] wa = PpoRunTest.weights(a);
        assertTrue(Arrays.equals(wa, PpoRunTest.weights(b)), "the ptx batches of --max-length 24 are the cut texts");
        assertFalse(Arrays.equals(wa, PpoRunTest.weights(c)), "and not the whole texts");
    }
    @Test
    void valueModelSettingsGivenToACriticFreeEstimatorAreRefused() throws Exception {
        Path out = tmp.resolve("critic-free");
        String[][] cases = {{"grpo", "--lam", "0.9"}, {"grpo", "--lam", "0.95"}, {"rloo", "--vf-coef", "0.5"},
            {"grpo", "--cliprange-value", "0.3"}, {"rloo", "--gamma", "0.99"}, {"grpo", "--no-whiten-advantages"}};
        for (String[] c : cases) {
            List<String> extra = new ArrayList<>(List.of("--estimator", c[0]));
            extra.addAll(Arrays.asList(c).subList(1, c.length));
            String option = c[1].replace("--no-", "--");
            refused(ppo(out, extra.toArray(new String[0])), option + " (" + option.substring(2).replace('-', '_')
                    + ") applies to the value model of --estimator gae; --estimator " + c[0] + " has none");
        }
        // in a config file alike
        Path config = tmp.resolve("grpo.json");
        Files.writeString(config, "{\"estimator\": \"grpo\", \"lam\": 0.9}");
        refused(ppo(out, "--config", config.toString()), "--lam (lam) applies to the value model");
        assertFalse(Files.exists(out), "refused before any work");
        Path pipeline = tmp.resolve("grpo-pipeline.json");
        Files.writeString(pipeline, "{\"base_model\": " + Json.MAPPER.writeValueAsString(model.toString())
                + ", \"ppo\": {\"estimator\": \"grpo\", \"samples_per_prompt\": 2, \"vf_coef\": 0.5}}");
        refused(run("", "pipeline", "--config", pipeline.toString(), "--out", out.toString()),
                "--vf-coef (vf_coef) applies to the value model of --estimator gae; --estimator grpo has none");
        assertFalse(Files.exists(out), "nothing written");
        // a config that only repeats the defaults (a run's own config.json, say) gives nothing
        Files.writeString(config, "{\"estimator\": \"grpo\", \"lam\": 0.95, \"gamma\": 1, \"vf_coef\": 0.1,"
                + " \"whiten_advantages\": true, \"value_model\": null}");
        String[] ok = ppo(out, "--config", config.toString(), "--max-new-tokens", "4");
        assertEquals("0", ok[0], ok[2]);
    }
}
