package org.align4j.ppo;

import static org.align4j.core.testing.GoldenFixtures.assertRelClose;
import static org.align4j.core.testing.GoldenFixtures.doubles;
import static org.align4j.core.testing.GoldenFixtures.floats;
import static org.align4j.core.testing.GoldenFixtures.ints;
import static org.align4j.core.testing.GoldenFixtures.tokenBatch;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.checkpoint.Safetensors;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.loss.SequenceLogProbs;
import org.align4j.core.model.GptModel;
import org.align4j.core.model.ScoreHead;
import org.align4j.core.model.TokenBatch;
import org.align4j.core.util.Json;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * PPO's clipped policy and value losses in fp32 against an independent PyTorch reference (float64,
 * tools/reference/gpt2_reference.py): a fixed rollout batch through a policy and a value model
 * (per-token values from the score head), the token-mean losses and every gradient of both
 * models within 1e-4 relative, for both kernel implementations.
 */
class PpoGoldenTest {

    static final Path FIXTURES = Path.of("src/test/resources/fixtures/ppo-tiny");

    @ParameterizedTest
    @MethodSource("org.align4j.core.testing.GoldenFixtures#kernels")
    void clippedLossesAndEveryGradientMatchPyTorch(Kernels kernels) throws Exception {
        JsonNode meta = Json.MAPPER.readTree(FIXTURES.resolve("expected.json").toFile());
        GptModel policy = (GptModel) ModelDirectory.load(FIXTURES.resolve("policy"), kernels, DataType.FLOAT);
        GptModel value = (GptModel) ModelDirectory.load(FIXTURES.resolve("value"), kernels, DataType.FLOAT, true);
        TokenBatch batch = tokenBatch(meta);
        int[] targets = ints(meta.get("targets"));
        float[] mask = floats(meta.get("loss_mask"));
        double[] old = doubles(meta.get("old_logprobs"));
        double[] adv = doubles(meta.get("advantages"));
        double[] ret = doubles(meta.get("returns"));
        double[] oldV = doubles(meta.get("old_values"));
        double eps = meta.get("cliprange").asDouble();
        double epsV = meta.get("cliprange_value").asDouble();
        double vfCoef = meta.get("vf_coef").asDouble();
        int tokens = 0;
        for (float f : mask) {
            tokens += f != 0f ? 1 : 0;
        }

        SequenceLogProbs lp = new SequenceLogProbs(policy);
        double[] logp = lp.forwardRows(batch, targets, mask, 1.0);
        double pg = 0;
        double clipped = 0;
        double[] d = new double[logp.length];
        for (int i = 0; i < logp.length; i++) {
            if (mask[i] != 0f) {
                PpoLoss.Token tok = PpoLoss.policy(logp[i], old[i], adv[i], eps);
                pg += tok.loss() / tokens;
                d[i] = tok.grad() / tokens;
                clipped += Math.abs(tok.ratio() - 1) > eps ? 1.0 / tokens : 0;
            }
        }
        assertEquals(meta.get("policy_loss").asDouble(), pg, 1e-4 * Math.abs(meta.get("policy_loss").asDouble()));
        assertEquals(meta.get("clipfrac").asDouble(), clipped, 1e-12);
        policy.zeroGradients();
        lp.backwardRows(d);

        ScoreHead head = new ScoreHead(value);
        double[] v = head.forwardAll(batch);
        double vf = 0;
        double[] dv = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            if (mask[i] != 0f) {
                PpoLoss.Token tok = PpoLoss.value(v[i], oldV[i], ret[i], epsV);
                vf += tok.loss() / tokens;
                dv[i] = vfCoef * tok.grad() / tokens;
            }
        }
        assertEquals(meta.get("value_loss").asDouble(), vf, 1e-4 * meta.get("value_loss").asDouble());
        value.zeroGradients();
        head.backwardAll(dv);

        try (Safetensors.Reader r = Safetensors.open(FIXTURES.resolve("expected.safetensors"))) {
            for (String name : policy.parameters().names()) {
                assertRelClose("policy " + name, Nd4j.create(r.readFloats("policy." + name),
                        policy.parameters().get(name).shape()), policy.gradients().get(name), 1e-4);
            }
            for (String name : value.parameters().names()) {
                assertRelClose("value " + name, Nd4j.create(r.readFloats("value." + name),
                        value.parameters().get(name).shape()), value.gradients().get(name), 1e-4);
            }
        }
    }
}
