package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.backend.Backend;
import org.align4j.core.checkpoint.ModelSource;
import org.align4j.core.loss.SequenceLogProbs;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.run.RunDirectory;
import org.align4j.core.util.Json;
import org.align4j.data.batch.ExampleEncoder;
import org.align4j.reward.RewardScorer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * {@code dpo --online} on the embedded base model with {@code --reward-fn regex:\bthe\b} as the judge: one
 * step recomputed from its logged samples with an independent forward of the checkpointed policy and
 * of the base model as reference (log-probabilities, the judge's scores by the length rule, the
 * chosen side, the sigmoid loss by hand, objective/scores and objective/kl); a run cancelled midway
 * resumes to the uninterrupted losses; meaningless combinations are refused before any work.
 */
class OnlineDpoRunTest {

    static final String MODEL = "../examples/base-model";
    static final double BETA = 0.1;
    /** The judge: 1 for a response with the word "the", else 0 (about half the base model's 12-token samples have it). */
    static final String JUDGE = "regex:\\bthe\\b";

    @TempDir
    static Path tmp;
    static Path prompts;

    @BeforeAll
    static void promptFile() throws Exception {
        StringBuilder p = new StringBuilder();
        for (String s : List.of("Once upon a time", "The little dog", "A girl found", "In the forest", "The sun",
                "My friend", "One day a cat", "The old man")) {
            p.append(Json.MAPPER.createObjectNode().put("prompt", s)).append('\n');
        }
        prompts = tmp.resolve("prompts.jsonl");
        Files.writeString(prompts, p);
    }

    static String[] args(Path out, int steps, String... extra) {
        List<String> a = new ArrayList<>(List.of("dpo", "--model", MODEL, "--online", "--prompts", prompts.toString(),
                "--reward-fn", JUDGE, "--out", out.toString(), "--max-steps", Integer.toString(steps),
                "--batch-size", "4", "--max-new-tokens", "12", "--temperature", "1", "--seed", "3", "--lr", "1e-3",
                "--warmup-steps", "0", "--sample-every", "1", "--save-every", "1", "--keep-last", "0"));
        // an extra option followed by null takes that option out of the defaults above
        for (int i = 0; i < extra.length; i++) {
            if (i + 1 < extra.length && extra[i + 1] == null) {
                int at = a.indexOf(extra[i]);
                a.remove(at + 1);
                a.remove(at);
                i++;
            } else {
                a.add(extra[i]);
            }
        }
        return a.toArray(new String[0]);
    }

    static DecoderModel load(Path dir) throws Exception {
        DecoderModel m = ModelSource.of(dir).load(Backend.get().kernels(), DataType.FLOAT, false);
        m.limitVocabulary(ExampleEncoder.forModel(Path.of(MODEL), m.config().eosTokenId()).tokenizer());
        return m;
    }

    static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asInt();
        }
        return out;
    }

    static double softplus(double x) {
        return Math.log1p(Math.exp(-Math.abs(x))) + Math.max(x, 0);
    }

    @Test
    void aStepRecomputedFromItsSamplesMatchesItsMetrics() throws Exception {
        Path out = tmp.resolve("run");
        Path val = tmp.resolve("val.jsonl");
        Files.writeString(val, "{\"prompt\": \"The sun\", \"chosen\": \" rose over the hill.\", \"rejected\": \" set.\"}\n"
                + "{\"prompt\": \"A girl found\", \"chosen\": \" a red ball.\", \"rejected\": \" it.\"}\n");
        Object[] r = BadInputTest.run(null, args(out, 2, "--val", val.toString(), "--eval-every", "2"));
        assertEquals(0, r[0], (String) r[1]);
        assertTrue(((String) r[1]).contains("judge: " + JUDGE + ": "), (String) r[1]);
        List<JsonNode> metrics = new RunDirectory(out).metrics();
        assertEquals(2, metrics.size());
        for (String k : List.of("loss", "rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies",
                "logps/chosen", "logps/rejected", "objective/scores", "objective/scores_margin", "objective/kl",
                "objective/entropy", "objective/non_score_reward", "objective/rlhf_reward", "val/contain_eos_token",
                "beta")) {
            assertTrue(metrics.get(1).has(k), k + " in " + metrics.get(1));
        }
        assertTrue(Double.isFinite(metrics.get(1).path("val_loss").asDouble(Double.NaN)), metrics.get(1).toString());
        assertTrue(metrics.get(1).has("val_rewards/accuracies"), metrics.get(1).toString());
        // step 1: policy = reference, so each pair's loss is ln 2 and the KL 0
        assertEquals(Math.log(2), metrics.get(0).get("loss").asDouble(), 1e-6);
        assertEquals(0, metrics.get(0).get("objective/kl").asDouble(), 1e-6);
        // step 2 runs the policy of checkpoint step-1 against the base model
        DecoderModel policy = load(out.resolve("checkpoints").resolve("step-1"));
        DecoderModel reference = load(Path.of(MODEL));
        int eos = reference.config().eosTokenId();
        List<JsonNode> rows = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("samples").resolve("step-2.jsonl"))) {
            rows.add(Json.MAPPER.readTree(line));
        }
        assertEquals(4, rows.size(), "one row per prompt of the step");
        List<int[]> ps = new ArrayList<>();
        List<int[]> cs = new ArrayList<>();
        for (JsonNode row : rows) {
            for (String side : List.of("chosen", "rejected")) {
                ps.add(ints(row.get("prompt_tokens")));
                cs.add(ints(row.get(side + "_tokens")));
            }
        }
        double[] lp = SequenceLogProbs.ofCompletions(policy, ps, cs, 8, eos);
        double[] ref = SequenceLogProbs.ofCompletions(reference, ps, cs, 8, eos);
        double loss = 0;
        double scores = 0;
        double kl = 0;
        int decided = 0;
        for (int i = 0; i < rows.size(); i++) {
            JsonNode row = rows.get(i);
            double[] s = new double[2];
            for (int side = 0; side < 2; side++) {
                String name = side == 0 ? "chosen" : "rejected";
                s[side] = Pattern.compile("\\bthe\\b").matcher(row.get(name).asText()).find() ? 1 : 0;
                assertEquals(s[side], row.get(name + "_score").asDouble(), 1e-12, row.toString());
                assertEquals(lp[2 * i + side], row.get(name + "_logp").asDouble(), 1e-3, row.toString());
                assertEquals(ref[2 * i + side], row.get(name + "_ref_logp").asDouble(), 1e-3, row.toString());
                scores += s[side];
                kl += lp[2 * i + side] - ref[2 * i + side];
            }
            assertTrue(s[0] >= s[1], "the judge's better sample is chosen: " + row);
            decided += s[0] != s[1] ? 1 : 0;
            double d = (lp[2 * i] - ref[2 * i]) - (lp[2 * i + 1] - ref[2 * i + 1]);
            loss += softplus(-BETA * d) / rows.size();
        }
        assertTrue(decided > 0, "some pair is not a tie, so the choice is tested: " + rows);
        JsonNode step2 = metrics.get(1);
        assertTrue(Math.abs(step2.get("loss").asDouble() - Math.log(2)) > 1e-6, "the policy moved: " + step2);
        assertEquals(loss, step2.get("loss").asDouble(), 1e-4);
        assertEquals(scores / 8, step2.get("objective/scores").asDouble(), 1e-9);
        assertEquals(kl / 8, step2.get("objective/kl").asDouble(), 1e-3);
    }

    @Test
    void withLoraTheReferenceIsThePolicyWithItsAdaptersOff() throws Exception {
        Path out = tmp.resolve("lora");
        Object[] r = BadInputTest.run(null, args(out, 2, "--lora-r", "4"));
        assertEquals(0, r[0], (String) r[1]);
        List<JsonNode> m = new RunDirectory(out).metrics();
        // B starts at zero: the first step's policy is its reference exactly; the second's has moved
        assertEquals(Math.log(2), m.get(0).get("loss").asDouble(), 1e-6);
        assertEquals(0, m.get(0).get("objective/kl").asDouble(), 1e-6);
        assertTrue(Math.abs(m.get(1).get("objective/kl").asDouble()) > 1e-6, m.get(1).toString());
    }

    @Test
    void aRewardModelJudgesByItsRawScoreOfPromptAndResponse() throws Exception {
        Path pairs = tmp.resolve("rm-pairs.jsonl");
        StringBuilder p = new StringBuilder();
        for (String w : List.of("sun", "dog", "cat", "girl")) {
            p.append(Json.MAPPER.createObjectNode().put("prompt", "The " + w).put("chosen", " was happy.")
                    .put("rejected", " was sad.")).append('\n');
        }
        Files.writeString(pairs, p);
        Path rm = tmp.resolve("rm");
        Object[] r = BadInputTest.run(null, "reward", "--model", MODEL, "--train", pairs.toString(), "--out",
                rm.toString(), "--max-steps", "2", "--batch-size", "4");
        assertEquals(0, r[0], (String) r[1]);
        Path out = tmp.resolve("rm-judged");
        r = BadInputTest.run(null, args(out, 1, "--reward-fn", null, "--judge-model", rm.resolve("final").toString()));
        assertEquals(0, r[0], (String) r[1]);
        assertTrue(((String) r[1]).contains("judge: reward model " + rm.resolve("final")), (String) r[1]);
        // each logged score is the reward model's own score of prompt + response (its stop token left out)
        RewardScorer scorer = RewardScorer.load(rm.resolve("final"), Backend.get().kernels());
        List<int[]> seqs = new ArrayList<>();
        List<Double> logged = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("samples").resolve("step-1.jsonl"))) {
            JsonNode row = Json.MAPPER.readTree(line);
            for (String side : List.of("chosen", "rejected")) {
                int[] prompt = ints(row.get("prompt_tokens"));
                int[] t = ints(row.get(side + "_tokens"));
                int n = t[t.length - 1] == scorer.encoder().eosTokenId() ? t.length - 1 : t.length;
                int[] seq = Arrays.copyOf(prompt, prompt.length + n);
                System.arraycopy(t, 0, seq, prompt.length, n);
                seqs.add(seq);
                logged.add(row.get(side + "_score").asDouble());
            }
            assertTrue(row.get("chosen_score").asDouble() >= row.get("rejected_score").asDouble(), row.toString());
        }
        double[] expected = scorer.score(seqs, 1);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], logged.get(i), 1e-4);
        }
        BadInputTest.expectFailure(BadInputTest.run(null, args(tmp.resolve("lm-judge"), 1, "--reward-fn", null,
                "--judge-model", MODEL)), "not a reward model");
    }

    @Test
    void aCancelledRunResumesToTheUninterruptedLosses() throws Exception {
        Path whole = tmp.resolve("whole");
        assertEquals(0, BadInputTest.run(null, args(whole, 5))[0]);
        Path cut = tmp.resolve("cut");
        // a cancel request as `runs cancel` makes it, once the first step is logged
        AtomicInteger exit = new AtomicInteger(-1);
        Thread t = new Thread(() -> exit.set(Align4j.run(args(cut, 5))));
        t.start();
        RunDirectory run = new RunDirectory(cut);
        while (t.isAlive() && !(Files.exists(cut.resolve("metrics.jsonl")) && run.metrics().size() >= 1)) {
            Thread.sleep(5);
        }
        run.requestCancel();
        t.join();
        assertEquals(0, exit.get());
        int done = run.metrics().size();
        assertTrue(done < 5, "cancelled before the end, after step " + done);
        Object[] r = BadInputTest.run(null, args(cut, 5, "--resume"));
        assertEquals(0, r[0], (String) r[1]);
        assertEquals(TinyModel.losses(whole), TinyModel.losses(cut), "exactly the uninterrupted losses");
        assertEquals(Files.readString(whole.resolve("samples").resolve("step-5.jsonl")),
                Files.readString(cut.resolve("samples").resolve("step-5.jsonl")), "the same samples after resume");
    }

    @Test
    void meaninglessCombinationsAreRefusedBeforeAnyWork() throws Exception {
        Path out = tmp.resolve("refused");
        Path pairs = tmp.resolve("pairs.jsonl");
        Files.writeString(pairs, "{\"prompt\": \"The sun\", \"chosen\": \" rose.\", \"rejected\": \" set.\"}\n");
        BadInputTest.expectFailure(BadInputTest.run(null, "dpo", "--model", MODEL, "--online", "--prompts",
                prompts.toString(), "--out", out.toString()), "--online needs a judge");
        BadInputTest.expectFailure(BadInputTest.run(null, "dpo", "--model", MODEL, "--train", pairs.toString(),
                "--reward-fn", "length:8", "--out", out.toString()), "give --online, or leave them out");
        BadInputTest.expectFailure(BadInputTest.run(null, "dpo", "--model", MODEL, "--online", "--train",
                pairs.toString(), "--reward-fn", "length:8", "--out", out.toString()),
                pairs + ":1: a preference pair, but --online samples its own pairs");
        BadInputTest.expectFailure(BadInputTest.run(null, args(out, 1, "--train", pairs.toString())),
                "--online reads its prompts from --prompts or --train, not both");
        BadInputTest.expectFailure(BadInputTest.run(null, args(out, 1, "--reward-fn", "length:8", "--grader",
                pairs.toString())), "give one judge");
        BadInputTest.expectFailure(BadInputTest.run(null, args(out, 1, "--loss", "simpo")), "is reference-free");
        BadInputTest.expectFailure(BadInputTest.run(null, args(out, 1, "--temperature", "0")), "--temperature");
        BadInputTest.expectFailure(BadInputTest.run(null, "dpo", "--model", MODEL, "--train", pairs.toString(),
                "--max-new-tokens", "8", "--out", out.toString()), "--max-new-tokens (max_new_tokens) applies to"
                + " sampled pairs: give --online");
        BadInputTest.expectFailure(BadInputTest.run(null, "dpo", "--model", MODEL, "--out", out.toString()),
                "--train is required");
        // a grader reading a field that a prompt record lacks: named with the file and line
        Path grader = tmp.resolve("word.json");
        Files.writeString(grader, "{\"type\": \"string_check\", \"name\": \"word\", \"input\":"
                + " \"{{sample.output_text}}\", \"reference\": \"{{item.word}}\", \"operation\": \"ilike\"}");
        BadInputTest.expectFailure(BadInputTest.run(null, args(out, 1, "--reward-fn", null, "--grader",
                grader.toString())), prompts + ":1: lacks {{item.word}}, which the judge");
        // a config file's settings are the flags' (its keys snake_case), refused alike
        Path config = tmp.resolve("online.json");
        Files.writeString(config, Json.MAPPER.createObjectNode().put("model", MODEL).put("online", true)
                .put("prompts", prompts.toString()).put("output_dir", out.toString()).put("max_new_tokens", 0)
                .toString());
        BadInputTest.expectFailure(BadInputTest.run(null, "dpo", "--config", config.toString()), "max_new_tokens");
        Files.writeString(config, Json.MAPPER.createObjectNode().put("model", MODEL).put("online", true)
                .put("prompts", prompts.toString()).put("output_dir", out.toString()).toString());
        BadInputTest.expectFailure(BadInputTest.run(null, "dpo", "--config", config.toString()),
                "--online needs a judge");
        assertFalse(Files.exists(out), "nothing written");
        Files.writeString(config, Json.MAPPER.createObjectNode().put("model", MODEL).put("online", true)
                .put("prompts", prompts.toString()).put("reward_fn", JUDGE).put("output_dir", out.toString())
                .put("max_steps", 1).put("batch_size", 2).put("max_new_tokens", 4).toString());
        Object[] ok = BadInputTest.run(null, "dpo", "--config", config.toString());
        assertEquals(0, ok[0], (String) ok[1]);
        JsonNode row = new RunDirectory(out).metrics().get(0);
        assertEquals(Math.log(2), row.get("loss").asDouble(), 1e-6);
        assertTrue(row.get("response_length").asDouble() <= 4, row.toString());
    }
}
