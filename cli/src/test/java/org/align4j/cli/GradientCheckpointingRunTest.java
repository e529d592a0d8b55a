package org.align4j.cli;

import static org.align4j.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.align4j.core.run.RunDirectory;
import org.align4j.core.util.Json;

/**
 * {@code --gradient-checkpointing} through the shared training options: SFT (with LoRA dropout,
 * whose masks the recomputed blocks must replay) and PPO (policy and value model, rollouts between
 * the updates) log exactly the losses of the same runs without it, the run's config records it, and
 * a run killed without it resumes with it to exactly the uninterrupted run's losses.
 */
class GradientCheckpointingRunTest {

    @TempDir
    static Path tmp;
    static TinyModel.TextAndPairs data;

    @BeforeAll
    static void modelAndData() throws Exception {
        data = TinyModel.textAndPairs(tmp, 6, 200);
    }

    private static String[] sft(Path out, int steps, String... extra) {
        List<String> a = new ArrayList<>(List.of("sft", "--model", data.model().toString(), "--train",
                data.text().toString(), "--out", out.toString(), "--max-steps", Integer.toString(steps),
                "--batch-size", "4", "--lr", "1e-2", "--save-every", "2", "--seed", "5", "--max-length", "32",
                "--no-packing"));
        a.addAll(List.of(extra));
        return a.toArray(new String[0]);
    }

    /** Every logged number but the timings, per step. */
    private static List<Map<String, Double>> results(Path run) throws Exception {
        List<Map<String, Double>> rows = new ArrayList<>();
        for (JsonNode m : new RunDirectory(run).metrics()) {
            Map<String, Double> row = new TreeMap<>();
            Iterator<Map.Entry<String, JsonNode>> it = m.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                String k = e.getKey();
                if (e.getValue().isNumber() && !k.contains("time") && !k.contains("per_s") && !k.contains("seconds")
                        && !k.contains("elapsed") && !k.endsWith("_ms")) {
                    row.put(k, e.getValue().asDouble());
                }
            }
            rows.add(row);
        }
        return rows;
    }

    @Test
    void sftWithLoraDropoutAndPpoLogTheSameLosses() throws Exception {
        String[] lora = {"--lora-r", "4", "--lora-dropout", "0.2", "--lora-targets", "c_attn,c_proj,c_fc"};
        Path plain = tmp.resolve("sft-plain");
        Path recomputed = tmp.resolve("sft-recomputed");
        String[] r = run("", sft(plain, 3, lora));
        assertEquals("0", r[0], r[2]);
        List<String> with = new ArrayList<>(List.of(sft(recomputed, 3, lora)));
        with.add("--gradient-checkpointing");
        r = run("", with.toArray(new String[0]));
        assertEquals("0", r[0], r[2]);
        assertEquals(TinyModel.losses(plain), TinyModel.losses(recomputed));
        assertEquals(results(plain), results(recomputed));
        assertTrue(Json.MAPPER.readTree(recomputed.resolve("config.json").toFile()).get("gradient_checkpointing")
                .asBoolean());
        assertFalse(Json.MAPPER.readTree(plain.resolve("config.json").toFile()).get("gradient_checkpointing")
                .asBoolean());

        List<List<Map<String, Double>>> ppo = new ArrayList<>();
        for (boolean on : new boolean[] {false, true}) {
            Path out = tmp.resolve("ppo-" + on);
            List<String> a = new ArrayList<>(List.of("ppo", "--model", data.model().toString(), "--reward-fn",
                    "regex:red", "--prompts", data.pairs().toString(), "--batch-size", "4", "--samples-per-prompt", "2",
                    "--max-new-tokens", "8", "--out", out.toString(), "--max-steps", "2", "--lr", "1e-3", "--seed",
                    "3"));
            if (on) {
                a.add("--gradient-checkpointing");
            }
            r = run("", a.toArray(new String[0]));
            assertEquals("0", r[0], r[2]);
            ppo.add(results(out));
        }
        assertEquals(2, ppo.get(0).size());
        assertTrue(ppo.get(0).get(0).keySet().stream().anyMatch(k -> k.contains("loss")), ppo.get(0).toString());
        assertEquals(ppo.get(0), ppo.get(1), "PPO's losses, rewards and KL with recomputation");
    }

    @Test
    void aRunKilledWithoutItResumesWithItExactly() throws Exception {
        Path whole = tmp.resolve("whole");
        String[] r = run("", sft(whole, 6));
        assertEquals("0", r[0], r[2]);
        Path killed = tmp.resolve("killed");
        TinyModel.killAfterCheckpoint(killed, 2, tmp.resolve("killed.log"), sft(killed, 6));
        assertEquals(RunDirectory.Status.RUNNING, new RunDirectory(killed).status(), "killed mid-run");
        List<String> again = new ArrayList<>(List.of(sft(killed, 6, "--resume")));
        again.add("--gradient-checkpointing");
        r = run("", again.toArray(new String[0]));
        assertEquals("0", r[0], r[2]);
        assertEquals(TinyModel.losses(whole), TinyModel.losses(killed), "the uninterrupted run's losses");
    }
}
