package org.align4j.dpo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.align4j.core.testing.GoldenFixtures.assertRelClose;
import static org.align4j.core.testing.GoldenFixtures.floats;
import static org.align4j.core.testing.GoldenFixtures.ints;
import static org.align4j.core.testing.GoldenFixtures.tokenBatch;

import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.checkpoint.Safetensors;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.loss.SequenceLogProbs;
import org.align4j.core.model.GptModel;
import org.align4j.core.model.TokenBatch;
import org.align4j.core.util.Json;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Every loss of the DPO family in fp32 against an independent PyTorch reference (float64,
 * tools/reference/gpt2_reference.py): sequence log-probabilities of a right-padded batch of
 * pairs with masked prompts, each loss's value and every parameter gradient within 1e-4
 * relative, for both kernel implementations.
 */
class DpoGoldenTest {

    static final Path FIXTURES = Path.of("src/test/resources/fixtures/dpo-tiny");

    @ParameterizedTest
    @MethodSource("org.align4j.core.testing.GoldenFixtures#kernels")
    void everyLossAndGradientMatchesPyTorch(Kernels kernels) throws Exception {
        JsonNode meta = Json.MAPPER.readTree(FIXTURES.resolve("expected.json").toFile());
        GptModel model = (GptModel) ModelDirectory.load(FIXTURES.resolve("model"), kernels, DataType.FLOAT);
        TokenBatch batch = tokenBatch(meta);
        int b = batch.batch();
        int[] targets = ints(meta.get("targets"));
        float[] mask = floats(meta.get("loss_mask"));
        double[] ref = new double[b];
        for (int i = 0; i < b; i++) {
            ref[i] = meta.get("reference_logps").get(i).asDouble();
        }
        SequenceLogProbs slp = new SequenceLogProbs(model);
        int checked = 0;
        try (Safetensors.Reader r = Safetensors.open(FIXTURES.resolve("expected.safetensors"))) {
            Iterator<Map.Entry<String, JsonNode>> cases = meta.get("cases").fields();
            while (cases.hasNext()) {
                Map.Entry<String, JsonNode> c = cases.next();
                JsonNode k = c.getValue();
                DpoLoss.Settings s = new DpoLoss.Settings(DpoLossType.valueOf(k.get("kind").asText().toUpperCase()),
                        k.get("beta").asDouble(), k.get("label_smoothing").asDouble(), k.get("simpo_gamma").asDouble(),
                        k.get("orpo_lambda").asDouble(), k.get("rpo_alpha").asDouble());
                double[][] lp = slp.forward(batch, targets, mask);
                for (int i = 0; i < b; i++) {
                    double e = k.get("logps").get(i).asDouble();
                    assertEquals(e, lp[0][i], 1e-4 * Math.abs(e), c.getKey() + ": logp of sequence " + i);
                }
                int pairs = b / 2;
                double loss = 0;
                double[] d = new double[b];
                for (int p = 0; p < pairs; p++) {
                    DpoLoss.Pair pr = DpoLoss.pair(s, lp[0][2 * p], lp[0][2 * p + 1], ref[2 * p], ref[2 * p + 1],
                            lp[1][2 * p], lp[1][2 * p + 1]);
                    loss += pr.loss() / pairs;
                    d[2 * p] = pr.dChosen() / pairs;
                    d[2 * p + 1] = pr.dRejected() / pairs;
                }
                double expected = k.get("loss").asDouble();
                assertEquals(expected, loss, 1e-4 * Math.max(1, Math.abs(expected)), c.getKey() + ": loss");
                model.zeroGradients();
                slp.backward(d);
                for (String name : model.parameters().names()) {
                    INDArray e = Nd4j.create(r.readFloats(c.getKey() + "." + name), model.parameters().get(name).shape());
                    assertRelClose(c.getKey() + " " + name, e, model.gradients().get(name), 1e-4);
                }
                checked++;
            }
        }
        assertEquals(8, checked, "every loss of the fixture");
    }
}
