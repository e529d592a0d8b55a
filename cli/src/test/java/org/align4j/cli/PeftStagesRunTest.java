package org.align4j.cli;

import static org.align4j.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import org.align4j.core.run.RunDirectory;
import org.align4j.core.util.Json;

/**
 * IA3, prompt tuning and prefix tuning in the stages with a scalar head, a rollout or a cached
 * reference: a reward model (the head reads the last real token after the virtual ones), PPO (rollouts
 * decode through the KV cache, the reference is the policy with its adapter off, the value model gets
 * the same method), KTO (the reference's log-probabilities cached from the adapter-off policy) and
 * distillation (the student's own samples decoded with its virtual tokens) each train two steps with
 * {@code --peft} and save PEFT's config.
 */
class PeftStagesRunTest {

    @TempDir
    static Path tmp;
    static TinyModel.TextAndPairs data;

    static Path thumbs;
    static Path prompts;

    @BeforeAll
    static void modelAndData() throws Exception {
        data = TinyModel.textAndPairs(tmp, 4, 300);
        thumbs = tmp.resolve("thumbs.jsonl");
        String[] r = run("", "data", "to-kto", data.pairs().toString(), "--out", thumbs.toString());
        assertEquals("0", r[0], r[2]);
        // the pairs' prompts alone: what on-policy distillation samples from
        prompts = tmp.resolve("prompts.jsonl");
        List<String> lines = new ArrayList<>();
        for (String l : Files.readAllLines(data.pairs())) {
            lines.add(Json.MAPPER.createObjectNode().put("prompt", Json.MAPPER.readTree(l).get("prompt").asText())
                    .toString());
        }
        Files.write(prompts, lines);
    }

    @ParameterizedTest
    @ValueSource(strings = {"ia3", "prompt_tuning", "prefix_tuning"})
    void rewardPpoKtoAndDistillTrainWithEachMethod(String method) throws Exception {
        List<List<String>> stages = List.of(
                List.of("reward", "--model", data.model().toString(), "--train", data.pairs().toString(),
                        "--batch-size", "4"),
                List.of("ppo", "--model", data.model().toString(), "--reward-fn", "regex:red", "--prompts",
                        data.pairs().toString(), "--batch-size", "4", "--samples-per-prompt", "2",
                        "--max-new-tokens", "8"),
                List.of("kto", "--model", data.model().toString(), "--train", thumbs.toString(), "--batch-size", "4"),
                List.of("distill", "--teacher", data.model().toString(), "--model", data.model().toString(),
                        "--train", prompts.toString(), "--batch-size", "4", "--lmbda", "1", "--beta", "1",
                        "--max-new-tokens", "8"));
        for (List<String> stage : stages) {
            Path out = tmp.resolve(method + "-" + stage.get(0));
            List<String> a = new ArrayList<>(stage);
            a.addAll(List.of("--out", out.toString(), "--max-steps", "2", "--lr", "1e-2", "--seed", "3", "--peft",
                    method));
            if (!method.equals("ia3")) {
                a.addAll(List.of("--num-virtual-tokens", "4"));
            }
            String[] r = run("", a.toArray(new String[0]));
            assertEquals("0", r[0], method + " " + stage.get(0) + ": " + r[2]);
            assertEquals(2, new RunDirectory(out).metrics().size(), method + " " + stage.get(0));
            JsonNode cfg = Json.MAPPER.readTree(out.resolve("final/adapter_config.json").toFile());
            assertEquals(method.toUpperCase(), cfg.get("peft_type").asText(), method + " " + stage.get(0));
        }
    }
}
