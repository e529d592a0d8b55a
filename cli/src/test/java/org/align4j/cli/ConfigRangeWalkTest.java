package org.align4j.cli;

import static org.align4j.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.align4j.dpo.DpoOptions;
import org.align4j.pipeline.PipelineConfig;
import org.align4j.ppo.PpoOptions;
import org.align4j.reward.RewardOptions;
import org.align4j.sft.SftOptions;
import org.align4j.train.SettingRanges;
import org.align4j.train.TrainingOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The settings' one range table serves config files as it serves flags: every numeric setting of
 * every settings record declares its range, and for every stage and every setting, a config file
 * holding a value outside it (below, above, infinite, a fraction for a whole number) is refused
 * with exit code 1 and one line naming the file and the key, before any work.
 */
class ConfigRangeWalkTest {

    @TempDir
    Path tmp;

    @Test
    void everyNumericSettingDeclaresItsRange() {
        assertEquals(List.of(), SettingRanges.unranged(TrainingOptions.class, SftOptions.class, RewardOptions.class,
                DpoOptions.class, PpoOptions.class, PipelineConfig.class));
    }

    /** Values outside the entry's range, as JSON. */
    static List<String> outside(SettingRanges.Entry e) {
        List<String> bad = new ArrayList<>(List.of("1e999", "-1e999"));
        if (e.whole()) {
            bad.add("2.7");
        }
        if (!Double.isInfinite(e.min())) {
            bad.add(num(e.minExclusive() ? e.min() : e.min() - 1));
        }
        if (!Double.isInfinite(e.max())) {
            bad.add(num(e.maxExclusive() ? e.max() : e.max() + 1));
        }
        return bad;
    }

    @Test
    void everyStageRefusesAConfigValueOutsideItsRangeNamingFileAndKey() throws Exception {
        Map<String, Class<?>> stages = Map.of("sft", SftOptions.class, "reward", RewardOptions.class, "dpo",
                DpoOptions.class, "ppo", PpoOptions.class);
        Path config = tmp.resolve("settings.json");
        int refused = 0;
        for (Map.Entry<String, Class<?>> stage : stages.entrySet()) {
            for (SettingRanges.Entry e : SettingRanges.of(TrainingOptions.class, stage.getValue()).values()) {
                for (String value : outside(e)) {
                    Files.writeString(config, "{\"" + e.key() + "\": " + value + "}");
                    String[] r = run("", stage.getKey(), "--config", config.toString(), "--out",
                            tmp.resolve("never").toString());
                    String what = stage.getKey() + " " + e.key() + "=" + value + ": " + r[2];
                    assertEquals("1", r[0], what);
                    assertTrue(r[2].startsWith("align4j: " + config + ": setting '" + e.key() + "' must be "), what);
                    assertFalse(r[2].contains("Exception") || r[2].contains("\tat "), what);
                    refused++;
                }
            }
        }
        assertFalse(Files.exists(tmp.resolve("never")));
        assertTrue(refused > 150, "values refused: " + refused);
    }

    @Test
    void theIssuesCasesAreRefused() throws Exception {
        Path config = tmp.resolve("sft.json");
        Files.writeString(config, "{\"max_steps\": 2.7}");
        String[] r = run("", "sft", "--config", config.toString());
        assertEquals("1", r[0], r[2]);
        assertEquals("align4j: " + config + ": setting 'max_steps' must be a whole number, got 2.7", r[2].trim());
        // a flag is checked against the same table
        r = run("", "ppo", "--temperature", "1e999");
        assertEquals("1", r[0], r[2]);
        assertEquals("align4j: --temperature must be a finite number, got Infinity", r[2].trim());
    }

    @Test
    void thePipelinesSectionsAreCheckedAgainstTheTable() throws Exception {
        Path out = tmp.resolve("never");
        Path bad = tmp.resolve("pipeline.json");
        Files.writeString(bad, PipelineCommandTest.BASE + "\"annotators\": {\"temperature\": 1e999}}");
        String[] r = run("", "pipeline", "--config", bad.toString(), "--out", out.toString());
        assertEquals("1", r[0], r[2]);
        assertEquals("align4j: " + bad + ": setting 'annotators.temperature' must be a finite number, got Infinity",
                r[2].trim());
        Files.writeString(bad, PipelineCommandTest.BASE + "\"candidates\": {\"k\": 3.5}}");
        r = run("", "pipeline", "--config", bad.toString(), "--out", out.toString());
        assertEquals("1", r[0], r[2]);
        assertTrue(r[2].contains(bad + ": setting 'candidates.k' must be a whole number, got 3.5"), r[2]);
        Files.writeString(bad, PipelineCommandTest.BASE + "\"sweep\": {\"dpo_beta\": [0.1, 0]}}");
        r = run("", "pipeline", "--config", bad.toString(), "--out", out.toString());
        assertEquals("1", r[0], r[2]);
        assertTrue(r[2].contains(bad + ": setting 'sweep.dpo_beta' must be above 0, got 0"), r[2]);
        Files.writeString(bad, PipelineCommandTest.BASE + "\"sft\": {\"max_steps\": 2.7}}");
        r = run("", "pipeline", "--config", bad.toString(), "--out", out.toString());
        assertEquals("1", r[0], r[2]);
        assertEquals("align4j: " + bad + ": section 'sft': setting 'max_steps' must be a whole number, got 2.7",
                r[2].trim());
        assertFalse(Files.exists(out), "nothing written");
    }

    @Test
    void aListGivenAsAStringIsNamedWithAnExample() throws Exception {
        Path config = tmp.resolve("sft.json");
        Files.writeString(config, "{\"freeze\": \"embeddings,layers:0-3\"}");
        String[] r = run("", "sft", "--config", config.toString());
        assertEquals("1", r[0], r[2]);
        assertEquals("align4j: " + config + ": setting 'freeze' (--freeze) must be a JSON list of strings, e.g."
                + " \"freeze\": [\"embeddings\",\"layers:0-3\"], got \"embeddings,layers:0-3\"", r[2].trim());
    }

    /** A number as JSON writes it. */
    private static String num(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
    }
}
