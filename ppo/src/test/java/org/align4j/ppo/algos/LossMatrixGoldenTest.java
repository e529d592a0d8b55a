package org.align4j.ppo.algos;

import static org.align4j.core.testing.GoldenFixtures.doubles;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.util.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every policy loss under every aggregation mode against PyTorch (float64 autograd of the published
 * formulas, tools/reference/ppo_loss_matrix.py): the aggregated loss and its gradient with respect
 * to every new log-probability, on a padded batch of varied lengths with one response masked out.
 */
class LossMatrixGoldenTest {

    static final Path FIXTURE = Path.of("src/test/resources/fixtures/ppo-losses/expected.json");

    static JsonNode meta() throws Exception {
        return Json.MAPPER.readTree(FIXTURE.toFile());
    }

    static Stream<Arguments> cases() throws Exception {
        List<Arguments> a = new ArrayList<>();
        for (JsonNode c : meta().get("cases")) {
            a.add(Arguments.of(c.get("policy_loss").asText() + " [" + c.get("low").asDouble() + ", "
                    + c.get("high").asDouble() + "]" + (c.get("dual_clip").isNull() ? "" : " c=" + c.get("dual_clip"))
                    + " " + c.get("loss_agg_mode").asText(), c));
        }
        return a.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void lossAndGradientMatchPyTorch(String name, JsonNode c) throws Exception {
        JsonNode meta = meta();
        int batch = meta.get("batch").asInt();
        int time = meta.get("time").asInt();
        int[] lengths = new int[batch];
        int[] trained = new int[batch];
        for (int b = 0; b < batch; b++) {
            lengths[b] = meta.get("lengths").get(b).asInt();
            trained[b] = meta.get("trained").get(b).asInt();
        }
        double[] logp = doubles(meta.get("logp"));
        double[] old = doubles(meta.get("old"));
        double[] adv = doubles(meta.get("advantages"));
        double[] seqAdv = doubles(meta.get("sequence_advantages"));
        PolicyLossType type = PolicyLossType.valueOf(c.get("policy_loss").asText().toUpperCase(Locale.ROOT));
        LossAggregation agg = Json.MAPPER.convertValue(c.get("loss_agg_mode"), LossAggregation.class);
        PolicyLoss.Settings s = new PolicyLoss.Settings(c.get("low").asDouble(), c.get("high").asDouble(),
                c.get("dual_clip").isNull() ? Double.NaN : c.get("dual_clip").asDouble(),
                meta.get("sapo_temperature_pos").asDouble(), meta.get("sapo_temperature_neg").asDouble());
        double[] w = agg.weights(trained, meta.get("max_new_tokens").asInt());
        double loss = 0;
        double[] grad = new double[batch * time];
        for (int b = 0; b < batch; b++) {
            if (trained[b] == 0) {
                continue;
            }
            int n = trained[b];
            double[] lp = new double[n];
            double[] o = new double[n];
            double[] a = new double[n];
            for (int t = 0; t < n; t++) {
                lp[t] = logp[b * time + t];
                o[t] = old[b * time + t];
                a[t] = type == PolicyLossType.GSPO ? seqAdv[b] : adv[b * time + t];
            }
            double[] l = new double[n];
            double[] g = new double[n];
            PolicyLoss.Clip[] clip = new PolicyLoss.Clip[n];
            type.function().compute(lp, o, a, s, l, g, clip);
            for (int t = 0; t < n; t++) {
                loss += w[b] * l[t];
                grad[b * time + t] = w[b] * g[t];
            }
        }
        double expected = c.get("loss").asDouble();
        assertEquals(expected, loss, 1e-12 * Math.max(1, Math.abs(expected)), name + ": loss");
        double[] eg = doubles(c.get("grad"));
        for (int i = 0; i < eg.length; i++) {
            assertEquals(eg[i], grad[i], 1e-12, name + ": d loss / d logp[" + i / time + "][" + i % time + "]");
        }
    }

    @Test
    void theFixtureExercisesEveryLossModeAndClip() throws Exception {
        Set<String> seen = new HashSet<>();
        for (JsonNode c : meta().get("cases")) {
            seen.add(c.get("policy_loss").asText());
            seen.add(c.get("loss_agg_mode").asText());
        }
        for (PolicyLossType t : PolicyLossType.values()) {
            assertTrue(seen.contains(t.toString()), "a fixture for " + t);
            assertTrue(PolicyLosses.all().containsKey(t.toString()), t + " is registered");
        }
        for (LossAggregation a : LossAggregation.values()) {
            assertTrue(seen.contains(a.toString()), "a fixture for " + a);
        }
        // the dual clip changes the vanilla loss on this batch (a ratio of 4.5 with a negative advantage)
        JsonNode cases = meta().get("cases");
        assertTrue(Math.abs(cases.get(4).get("loss").asDouble() - cases.get(8).get("loss").asDouble()) > 0.05);
    }
}
