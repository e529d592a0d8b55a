package org.align4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.run.RunDirectory;
import org.junit.jupiter.api.Test;

/**
 * An experiment, not a test (surefire's default names leave it out of the suite): 15 iterations of
 * each loss-matrix variant on PpoRunTest's rule reward (1 when a response contains "red"), writing
 * the mean score of the first and last three iterations, the KL, the responses generated and the
 * wall time to $PROBE_OUT/report.txt. Run:
 * {@code PROBE_OUT=/tmp/variants mvn -B -ntp -o test -pl cli -am -Dtest=LossMatrixExperiment -Dsurefire.failIfNoSpecifiedTests=false}
 */
class LossMatrixExperiment {

    @Test
    void probe() throws Exception {
        Path dir = Path.of(System.getenv("PROBE_OUT"));
        Files.createDirectories(dir);
        SplittableRandom r = new SplittableRandom(6);
        Path model = TinyModel.create(dir, TinyModel.corpus(r, 300), "ppo-base");
        Path prompts = dir.resolve("prompts.jsonl");
        StringBuilder p = new StringBuilder();
        for (String w : List.of("the cat", "the dog", "a mat", "the log", "a big", "small blue", "then a", "the")) {
            p.append("{\"prompt\": \"").append(w).append("\"}\n");
        }
        Files.writeString(prompts, p);
        String[][] variants = {{"grpo"}, {"grpo", "--loss-type", "dr_grpo"}, {"grpo", "--loss-type", "dapo"},
            {"grpo", "--loss-type", "gspo"}, {"grpo", "--loss-type", "cispo"}, {"grpo", "--loss-type", "sapo"},
            {"reinforce++"}, {"reinforce++-baseline"}};
        StringBuilder report = new StringBuilder();
        for (String[] v : variants) {
            String name = String.join("_", v).replace("--loss-type_", "");
            Path out = dir.resolve(name);
            List<String> a = new ArrayList<>(List.of("ppo", "--model", model.toString(), "--reward-fn", "regex:red",
                    "--prompts", prompts.toString(), "--out", out.toString(), "--max-steps", "15",
                    "--batch-size", "8", "--samples-per-prompt", "4", "--lr", "3e-3", "--max-new-tokens", "12",
                    "--kl-coef", "0.01", "--seed", "3", "--estimator", v[0]));
            a.addAll(Arrays.asList(v).subList(1, v.length));
            long t0 = System.nanoTime();
            String[] res = CliTest.run("", a.toArray(new String[0]));
            double secs = (System.nanoTime() - t0) / 1e9;
            if (!res[0].equals("0")) {
                report.append(name).append(": FAILED ").append(res[2]).append('\n');
                continue;
            }
            List<JsonNode> ms = new RunDirectory(out).metrics();
            double first = 0;
            double last = 0;
            double gen = 0;
            for (int i = 0; i < 3; i++) {
                first += ms.get(i).get("objective/scores").asDouble() / 3;
                last += ms.get(ms.size() - 1 - i).get("objective/scores").asDouble() / 3;
            }
            for (JsonNode m : ms) {
                gen += m.has("sampling/responses_generated") ? m.get("sampling/responses_generated").asDouble() : 32;
            }
            report.append(String.format("%-22s scores %.3f -> %.3f  KL %.3f  responses %d  %.0f s%n", name, first, last,
                    ms.get(ms.size() - 1).get("objective/kl").asDouble(), (long) gen, secs));
        }
        Files.writeString(dir.resolve("report.txt"), report);
    }
}
