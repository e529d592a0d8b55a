package org.align4j.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

import javax.xml.parsers.DocumentBuilderFactory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

import org.align4j.core.backend.Backend;
import org.align4j.core.checkpoint.LlamaDirectory;
import org.align4j.core.model.Architecture;
import org.align4j.core.model.LlamaModel;
import org.align4j.core.tokenizer.BpeTokenizer;
import org.align4j.core.tokenizer.TokenizerFiles;
import org.align4j.core.run.RunDirectory;
import org.align4j.core.util.Json;
import org.align4j.core.util.UserInputException;
import org.align4j.reward.fn.RewardFunction;

/**
 * A shrunken pipeline end to end: every stage runs, a cancelled stage resumes, finished stages are
 * skipped, the evaluation's figures hold against independent checks (the SFT model against itself has
 * KL 0 and win rate 1/2; each sample's gold score is the judge's score of its text), and the report is
 * well-formed XHTML whose images are all embedded PNGs.
 */
class PipelineTest {

    private static final Path CONFIG = Path.of("src/test/resources/tiny-pipeline.json");

    @TempDir
    Path tmp;

    private static Pipeline prepare(Path out, boolean resume, boolean sweep, PrintStream log) throws Exception {
        return Pipeline.prepare(new Pipeline.Options(CONFIG, out, resume, null, null, sweep),
                Backend.get().kernels(), log);
    }

    @Test
    void runsEveryStageResumesACancelledOneAndReports() throws Exception {
        Path out = tmp.resolve("p");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(log, true, StandardCharsets.UTF_8);
        Pipeline first = prepare(out, false, false, ps);
        // a cancel requested before PPO starts stops it after its first iteration, with a checkpoint
        new RunDirectory(out.resolve("ppo")).requestCancel();
        Pipeline.Outcome stopped = first.run();
        assertFalse(stopped.finished());
        assertEquals("ppo", stopped.stoppedAt());
        assertEquals(RunDirectory.Status.CANCELLED, new RunDirectory(out.resolve("ppo")).status());
        assertFalse(Files.exists(out.resolve("dpo")), "no stage after the cancelled one ran");
        long sftEvents = new RunDirectory(out.resolve("sft")).events().size();
        String judgments = Files.readString(out.resolve("labels/judgments.jsonl"));

        UserInputException again = assertThrows(UserInputException.class, () -> prepare(out, false, false, ps));
        assertTrue(again.getMessage().contains("--resume"), again.getMessage());

        Pipeline.Outcome done = prepare(out, true, false, ps).run();
        assertTrue(done.finished());
        assertEquals(sftEvents, new RunDirectory(out.resolve("sft")).events().size(), "SFT was not run again");
        assertEquals(judgments, Files.readString(out.resolve("labels/judgments.jsonl")), "labels kept as they were");
        List<Integer> steps = new ArrayList<>();
        new RunDirectory(out.resolve("ppo")).metrics().forEach(m -> steps.add(m.get("step").asInt()));
        assertEquals(List.of(1, 2), steps, "PPO resumed after its first iteration");
        for (String stage : List.of("sft", "reward", "ppo", "ppo-ptx", "dpo", "kto", "online-dpo")) {
            assertEquals(RunDirectory.Status.SUCCEEDED, new RunDirectory(out.resolve(stage)).status(), stage);
        }

        // the labels: 12 tasks, 2 held out (15% of 12, rounded), judged by both annotators
        JsonNode labels = Json.MAPPER.readTree(out.resolve("labels/labels.json").toFile());
        assertEquals(12, labels.get("tasks").asInt());
        assertEquals(2, labels.get("val_tasks").asInt());
        assertEquals(12 + 2, labels.get("judgments").asInt());
        assertEquals(10, Files.readAllLines(out.resolve("labels/rankings.train.jsonl")).size());
        assertEquals(4, Files.readAllLines(out.resolve("labels/rankings.val.jsonl")).size());

        // KTO's thumbs: every ranking's best group up and its worst group down, counted from the rankings
        int up = 0;
        int down = 0;
        for (String line : Files.readAllLines(out.resolve("labels/rankings.train.jsonl"))) {
            JsonNode groups = Json.MAPPER.readTree(line).get("ranking");
            if (groups.size() > 1) {
                up += groups.get(0).size();
                down += groups.get(groups.size() - 1).size();
            }
        }
        List<String> thumbs = Files.readAllLines(out.resolve("labels/thumbs.train.jsonl"));
        assertEquals(up + down, thumbs.size());
        assertEquals(up, thumbs.stream().filter(t -> t.contains("\"label\":true")).count());
        JsonNode kto = Json.MAPPER.readTree(out.resolve("kto/config.json").toFile());
        assertEquals(out.resolve("sft/final").toString(), kto.get("ref_model").asText());
        // online DPO: sampled pairs from the training prompts, judged by the pipeline's reward model
        JsonNode online = Json.MAPPER.readTree(out.resolve("online-dpo/config.json").toFile());
        assertTrue(online.get("online").asBoolean());
        assertEquals(out.resolve("reward/final").toString(), online.get("judge_model").asText());
        new RunDirectory(out.resolve("online-dpo")).metrics().forEach(m ->
                assertTrue(m.has("objective/scores"), "the judge's scores are logged: " + m));

        // the evaluation, against checks that do not use the comparison's code
        JsonNode report = Json.MAPPER.readTree(out.resolve("report.json").toFile());
        JsonNode policies = report.get("policies");
        assertEquals(List.of("sft", "ppo", "ppo-ptx", "dpo", "kto", "online-dpo"), names(policies));
        JsonNode sft = policies.get("sft");
        assertEquals(6, sft.get("n").asInt());
        assertEquals(0.5, sft.get("win_rate_vs_reference").asDouble(), 1e-12, "the reference's own samples tie");
        RewardFunction judge = RewardFunction.parse("sentiment");
        for (String name : names(policies)) {
            List<String> rows = Files.readAllLines(out.resolve(policies.get(name).get("samples").asText()));
            assertEquals(6, rows.size());
            double sum = 0;
            for (String line : rows) {
                JsonNode r = Json.MAPPER.readTree(line);
                double gold = judge.score(r.get("prompt").asText(), r.get("response").asText(), 0);
                assertEquals(gold, r.get("gold_score").asDouble(), 1e-12, "gold score is the judge's");
                assertTrue(r.has("rm_score") && r.has("kl"));
                if (name.equals("sft")) {
                    assertEquals(0, r.get("kl").asDouble(), 1e-3, "the SFT model's KL to itself");
                }
                sum += gold;
            }
            assertEquals(sum / 6, policies.get(name).get("gold_score").asDouble(), 1e-12);
        }
        assertTrue(report.get("reward_model").has("label_accuracy"));
        assertTrue(report.get("stage_seconds").has("ppo"));
        assertHtmlSelfContained(out.resolve("report.html"));
        assertTrue(log.toString(StandardCharsets.UTF_8).contains("SFT: done"), "finished stages are skipped");

        // a rerun with another setting is refused, naming it
        Path changed = tmp.resolve("changed.json");
        JsonNode cfg = Json.MAPPER.readTree(CONFIG.toFile());
        ((ObjectNode) cfg).put("seed", 2);
        Files.writeString(changed, cfg.toString());
        UserInputException differ = assertThrows(UserInputException.class, () -> Pipeline.prepare(
                new Pipeline.Options(changed, out, true, null, null, false), Backend.get().kernels(), ps));
        assertTrue(differ.getMessage().contains("seed"), differ.getMessage());

        // --sweep on the finished pipeline adds its runs and re-evaluates with them; beta 0.1 is the
        // main DPO run's own setting, so that point is the main run
        assertTrue(Files.readString(CONFIG).contains("\"dpo_beta\": [0.1, 0.5]"));
        Pipeline.Outcome swept = prepare(out, true, true, ps).run();
        assertTrue(swept.finished());
        JsonNode after = Json.MAPPER.readTree(out.resolve("report.json").toFile()).get("policies");
        assertEquals(List.of("sft", "ppo", "ppo-ptx", "dpo", "kto", "online-dpo", "dpo-beta0.5", "ppo-kl0.2"),
                names(after));
        assertEquals("dpo", after.get("dpo-beta0.5").get("kind").asText());
        assertFalse(Files.exists(out.resolve("sweep/dpo-beta0.1")));
        assertEquals(0.5, Json.MAPPER.readTree(out.resolve("sweep/dpo-beta0.5/config.json").toFile())
                .get("beta").asDouble());
    }

    /** The whole pipeline on a tiny random Llama base (the embedded tokenizer, grouped-query attention). */
    @Test
    void aLlamaBaseRunsEveryStage() throws Exception {
        Path base = tmp.resolve("llama-base");
        Architecture arch = Architecture.LLAMA;
        BpeTokenizer tok = TokenizerFiles.load(Path.of("../examples/base-model"));
        LlamaModel m = (LlamaModel) arch.randomModel(arch.config(new Architecture.Shape(tok.vocabSize(), 128, 64, 2, 4,
                2, 192, true, 10000.0), tok.specialId("<|endoftext|>").orElse(0)), Backend.get().kernels(), 3);
        LlamaDirectory.save(m, base, "F32", Long.MAX_VALUE);
        TokenizerFiles.save(tok, base);
        ObjectNode cfg = (ObjectNode) Json.MAPPER.readTree(CONFIG.toFile());
        cfg.put("base_model", base.toString());
        cfg.remove("sweep");
        Path config = tmp.resolve("llama-pipeline.json");
        Files.writeString(config, cfg.toString());
        Path out = tmp.resolve("llama");
        Pipeline.Outcome done = Pipeline.prepare(new Pipeline.Options(config, out, false, null, null, false),
                Backend.get().kernels(), new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8))
                .run();
        assertTrue(done.finished());
        for (String stage : List.of("sft", "reward", "ppo", "ppo-ptx", "dpo", "kto", "online-dpo")) {
            assertEquals(RunDirectory.Status.SUCCEEDED, new RunDirectory(out.resolve(stage)).status(), stage);
        }
        assertEquals("llama", Json.MAPPER.readTree(out.resolve("dpo/final/config.json").toFile()).get("model_type")
                .asText());
        assertEquals("LlamaForSequenceClassification", Json.MAPPER.readTree(out.resolve("reward/final/config.json")
                .toFile()).get("architectures").get(0).asText());
        JsonNode policies = Json.MAPPER.readTree(out.resolve("report.json").toFile()).get("policies");
        assertEquals(List.of("sft", "ppo", "ppo-ptx", "dpo", "kto", "online-dpo"), names(policies));
        assertEquals(0.5, policies.get("sft").get("win_rate_vs_reference").asDouble(), 1e-12);
    }

    private static List<String> names(JsonNode o) {
        List<String> n = new ArrayList<>();
        o.fieldNames().forEachRemaining(n::add);
        return n;
    }

    /** Parses as XML (well-formed), every image a data: PNG, nothing fetched from elsewhere. */
    static void assertHtmlSelfContained(Path html) throws Exception {
        String text = Files.readString(html);
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", false);
        Document doc = f.newDocumentBuilder().parse(html.toFile());
        NodeList imgs = doc.getElementsByTagName("img");
        assertTrue(imgs.getLength() >= 5, "charts: " + imgs.getLength());
        for (int i = 0; i < imgs.getLength(); i++) {
            String src = ((Element) imgs.item(i)).getAttribute("src");
            assertTrue(src.startsWith("data:image/png;base64,"), src.substring(0, Math.min(40, src.length())));
            byte[] png = Base64.getDecoder().decode(src.substring("data:image/png;base64,".length()));
            assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, Arrays.copyOf(png, 4));
        }
        for (String tag : List.of("script", "link", "iframe")) {
            assertEquals(0, doc.getElementsByTagName(tag).getLength(), tag);
        }
        assertFalse(text.contains("http://") || text.contains("https://"), "no external reference");
        assertTrue(text.contains("<table"));
    }
}
