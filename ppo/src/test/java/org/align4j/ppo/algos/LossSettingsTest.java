package org.align4j.ppo.algos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.util.Json;
import org.align4j.ppo.PpoOptions;
import org.align4j.train.StageConfig;
import org.junit.jupiter.api.Test;

/** --loss-type presets, explicit settings over them, the defaults of old, and the combinations refused. */
class LossSettingsTest {

    static PpoOptions resolve(Object... kv) throws Exception {
        Map<String, JsonNode> flags = new LinkedHashMap<>();
        flags.put("model", Json.MAPPER.valueToTree("m"));
        flags.put("output_dir", Json.MAPPER.valueToTree("o"));
        flags.put("prompts", Json.MAPPER.valueToTree("p.jsonl"));
        flags.put("reward_fn", Json.MAPPER.valueToTree("length:5"));
        for (int i = 0; i < kv.length; i += 2) {
            flags.put((String) kv[i], Json.MAPPER.valueToTree(kv[i + 1]));
        }
        return StageConfig.resolve(PpoOptions.defaultSettings(), PpoOptions.class, (ObjectNode) null, "settings",
                flags, false).stage();
    }

    static String refused(Object... kv) {
        Exception e = assertThrows(Exception.class, () -> resolve(kv));
        return e.getMessage();
    }

    @Test
    void defaultsAreWhatPpoAndGrpoAlwaysComputed() throws Exception {
        PpoOptions.Losses gae = resolve().losses();
        assertEquals(LossAggregation.TOKEN_MEAN, gae.aggregation());
        assertEquals(PolicyLossType.VANILLA, gae.policyLoss());
        assertEquals(0.2, gae.clip().low(), 0);
        assertEquals(0.2, gae.clip().high(), 0);
        assertTrue(Double.isNaN(gae.clip().dualClip()));
        assertFalse(gae.dynamicSampling());
        assertEquals(0, gae.overlongBufferLen());
        PpoOptions.Losses grpo = resolve("estimator", "grpo", "samples_per_prompt", 4, "cliprange", 0.1).losses();
        assertEquals(LossAggregation.SEQ_MEAN_TOKEN_MEAN, grpo.aggregation());
        assertEquals(ScaleRewards.GROUP, grpo.scaleRewards());
        assertEquals(0.1, grpo.clip().high(), 0);
    }

    @Test
    void presetsSetTheirComponentsAndExplicitSettingsWin() throws Exception {
        PpoOptions.Losses dr = resolve("estimator", "grpo", "samples_per_prompt", 4, "loss_type", "dr_grpo").losses();
        assertEquals(LossAggregation.SEQ_MEAN_TOKEN_SUM_NORM, dr.aggregation());
        assertEquals(ScaleRewards.NONE, dr.scaleRewards());
        PpoOptions.Losses dapo = resolve("estimator", "grpo", "samples_per_prompt", 4, "loss_type", "dapo",
                "max_new_tokens", 40).losses();
        assertEquals(LossAggregation.TOKEN_MEAN, dapo.aggregation());
        assertEquals(0.28, dapo.clip().high(), 0);
        assertEquals(0.2, dapo.clip().low(), 0);
        assertTrue(dapo.dynamicSampling());
        assertEquals(8, dapo.overlongBufferLen(), "a fifth of --max-new-tokens");
        PpoOptions.Losses gspo = resolve("estimator", "grpo", "samples_per_prompt", 4, "loss_type", "gspo").losses();
        assertEquals(PolicyLossType.GSPO, gspo.policyLoss());
        assertEquals(4e-4, gspo.clip().high(), 0);
        PpoOptions.Losses cispo = resolve("estimator", "grpo", "samples_per_prompt", 4, "loss_type", "cispo").losses();
        assertEquals(PolicyLossType.CISPO, cispo.policyLoss());
        assertEquals(4.0, cispo.clip().high(), 0);
        // explicit settings override the preset
        PpoOptions.Losses mine = resolve("estimator", "grpo", "samples_per_prompt", 4, "loss_type", "dapo",
                "loss_agg_mode", "seq-mean-token-sum", "cliprange_high", 0.3, "dynamic_sampling", false,
                "overlong_buffer_len", 0).losses();
        assertEquals(LossAggregation.SEQ_MEAN_TOKEN_SUM, mine.aggregation());
        assertEquals(0.3, mine.clip().high(), 0);
        assertFalse(mine.dynamicSampling());
        assertEquals(0, mine.overlongBufferLen());
        // the names users type, with dashes and pluses
        assertEquals(PpoOptions.Estimator.REINFORCE_PP_BASELINE,
                resolve("estimator", "reinforce++-baseline", "samples_per_prompt", 2).estimator());
        assertEquals(PpoOptions.Estimator.REINFORCE_PP, resolve("estimator", "reinforce++", "gamma", 0.9).estimator());
    }

    @Test
    void aConfigFileSetsThemTooAndItsRangesAreChecked() throws Exception {
        Map<String, JsonNode> flags = new LinkedHashMap<>();
        flags.put("model", Json.MAPPER.valueToTree("m"));
        flags.put("output_dir", Json.MAPPER.valueToTree("o"));
        ObjectNode file = (ObjectNode) Json.MAPPER.readTree("{\"prompts\": \"p.jsonl\", \"reward_fn\": \"length:5\","
                + " \"estimator\": \"grpo\", \"samples_per_prompt\": 4, \"loss_type\": \"dr_grpo\","
                + " \"policy_loss\": \"cispo\", \"entropy_coef\": 0.01}");
        PpoOptions o = StageConfig.resolve(PpoOptions.defaultSettings(), PpoOptions.class, file, "ppo.json", flags, false)
                .stage();
        assertEquals(LossAggregation.SEQ_MEAN_TOKEN_SUM_NORM, o.losses().aggregation());
        assertEquals(PolicyLossType.CISPO, o.losses().policyLoss());
        assertEquals(0.01, o.entropyCoef(), 0);
        file.put("cliprange_high", -1);
        Exception e = assertThrows(Exception.class, () -> StageConfig.resolve(PpoOptions.defaultSettings(),
                PpoOptions.class, file, "ppo.json", flags, false));
        assertTrue(e.getMessage().contains("ppo.json") && e.getMessage().contains("cliprange_high"), e.getMessage());
        file.put("cliprange_high", 0.28);
        file.put("loss_type", "ppo");
        e = assertThrows(Exception.class, () -> StageConfig.resolve(PpoOptions.defaultSettings(), PpoOptions.class,
                file, "ppo.json", flags, false));
        assertTrue(e.getMessage().contains("must be one of grpo, bnpo, dr_grpo, dapo, cispo, gspo, sapo"),
                e.getMessage());
    }

    @Test
    void meaninglessCombinationsAreRefusedNamingTheOption() throws Exception {
        assertTrue(refused("loss_type", "dapo").contains("--loss-type dapo is a preset of TRL's GRPO losses"));
        assertTrue(refused("estimator", "grpo", "samples_per_prompt", 4, "policy_loss", "gspo", "clip_ratio_c", 3.0)
                .contains("--clip-ratio-c (dual clip) bounds --policy-loss vanilla only"));
        assertTrue(refused("clip_ratio_c", 1.0).contains("--clip-ratio-c"));
        assertTrue(refused("estimator", "reinforce++", "dynamic_sampling", true)
                .contains("--dynamic-sampling drops groups of equal scores"));
        assertTrue(refused("estimator", "grpo", "samples_per_prompt", 4, "max_new_tokens", 8, "overlong_buffer_len", 8)
                .contains("--overlong-buffer-len 8 must be below --max-new-tokens 8"));
        assertTrue(refused("estimator", "rloo", "samples_per_prompt", 4, "scale_rewards", "none")
                .contains("--scale-rewards (scale_rewards) is GRPO's"));
        assertTrue(refused("sapo_temperature_neg", 2.0).contains("applies to --policy-loss sapo"));
        assertTrue(refused("max_resample_rounds", 5).contains("bounds --dynamic-sampling, which is off"));
        assertTrue(refused("overlong_penalty_factor", 0.5).contains("--overlong-buffer-len 0"));
        assertTrue(refused("estimator", "grpo", "samples_per_prompt", 4, "loss_type", "cispo", "policy_loss", "vanilla")
                .contains("--cliprange-low 1.0 (set by --loss-type cispo) leaves no lower bound"));
        assertTrue(refused("estimator", "grpo", "samples_per_prompt", 4, "loss_type", "dapo", "cliprange", 0.1)
                .contains("--cliprange (cliprange) is the default of --cliprange-low and --cliprange-high, which are"
                        + " both set here (with --loss-type dapo)"));
        assertTrue(refused("cliprange", 0.1, "cliprange_low", 0.2, "cliprange_high", 0.3).contains("--cliprange "));
        assertEquals(0.1, resolve("cliprange", 0.1, "cliprange_high", 0.3).losses().clip().low(), 0);
        assertTrue(refused("estimator", "reinforce++-baseline").contains("needs --samples-per-prompt of at least 2"));
        assertTrue(refused("loss_agg_mode", "mean").contains("must be one of token-mean, seq-mean-token-mean"),
                refused("loss_agg_mode", "mean"));
        // gamma is REINFORCE++'s too, and still the value model's alone for the others
        assertTrue(refused("estimator", "grpo", "samples_per_prompt", 2, "gamma", 0.9)
                .contains("--gamma (gamma) applies to the value model"));
    }
}
