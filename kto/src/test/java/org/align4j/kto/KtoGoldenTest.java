package org.align4j.kto;

import static org.align4j.core.testing.GoldenFixtures.assertRelClose;
import static org.align4j.core.testing.GoldenFixtures.doubles;
import static org.align4j.core.testing.GoldenFixtures.floats;
import static org.align4j.core.testing.GoldenFixtures.ints;
import static org.align4j.core.testing.GoldenFixtures.tokenBatch;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.Iterator;
import java.util.Locale;
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
 * KTO in fp32 against an independent PyTorch reference (float64,
 * tools/reference/gpt2_reference.py, kto_fixture): a right-padded batch of 3 desirable and 1
 * undesirable examples with masked prompts and their mismatched KL sequences (completions cycled
 * by one within the batch); per case (KTO plain, weighted 1 : 1.33, with the KL estimate clamped
 * at 0, and APO-zero unpaired) the sequence and KL log-probabilities, the KL estimate, the loss and
 * every parameter gradient within 1e-4 relative (no gradient flows through the KL estimate in
 * PyTorch: a Java gradient through it would not match), for both kernel implementations.
 */
class KtoGoldenTest {

    static final Path FIXTURES = Path.of("src/test/resources/fixtures/kto-tiny");

    @ParameterizedTest
    @MethodSource("org.align4j.core.testing.GoldenFixtures#kernels")
    void theLossItsKlEstimateAndEveryGradientMatchPyTorch(Kernels kernels) throws Exception {
        JsonNode meta = Json.MAPPER.readTree(FIXTURES.resolve("expected.json").toFile());
        GptModel model = (GptModel) ModelDirectory.load(FIXTURES.resolve("model"), kernels, DataType.FLOAT);
        TokenBatch main = tokenBatch(meta);
        TokenBatch klBatch = tokenBatch(meta.get("kl"));
        int n = main.batch();
        double[] ref = doubles(meta.get("reference_logps"));
        boolean[] labels = new boolean[n];
        for (int i = 0; i < n; i++) {
            labels[i] = meta.get("labels").get(i).asBoolean();
        }
        SequenceLogProbs slp = new SequenceLogProbs(model);
        int checked = 0;
        try (Safetensors.Reader r = Safetensors.open(FIXTURES.resolve("expected.safetensors"))) {
            Iterator<Map.Entry<String, JsonNode>> cases = meta.get("cases").fields();
            while (cases.hasNext()) {
                Map.Entry<String, JsonNode> c = cases.next();
                String name = c.getKey();
                JsonNode k = c.getValue();
                KtoLoss.Settings s = new KtoLoss.Settings(KtoLossType.valueOf(k.get("loss_type").asText()
                        .toUpperCase(Locale.ROOT)), k.get("beta").asDouble(), k.get("desirable_weight").asDouble(),
                        k.get("undesirable_weight").asDouble());
                double kl = 0;
                if (s.type().usesKl()) {
                    double[] klLp = slp.forward(klBatch, ints(meta.get("kl").get("targets")),
                            floats(meta.get("kl").get("loss_mask")))[0];
                    for (int i = 0; i < n; i++) {
                        double e = k.get("kl_logps").get(i).asDouble();
                        assertEquals(e, klLp[i], 1e-4 * Math.abs(e), name + ": KL logp of sequence " + i);
                    }
                    kl = KtoLoss.klEstimate(klLp, doubles(k.get("reference_kl_logps")));
                }
                assertEquals(k.get("kl").asDouble(), kl, 1e-4, name + ": KL estimate");
                double[][] lp = slp.forward(main, ints(meta.get("targets")), floats(meta.get("loss_mask")));
                double loss = 0;
                double[] d = new double[n];
                for (int i = 0; i < n; i++) {
                    double e = k.get("logps").get(i).asDouble();
                    assertEquals(e, lp[0][i], 1e-4 * Math.abs(e), name + ": logp of sequence " + i);
                    KtoLoss.Result res = KtoLoss.of(s, labels[i], lp[0][i], ref[i], kl);
                    loss += res.loss() / n;
                    d[i] = res.dLogp() / n;
                }
                assertEquals(k.get("loss").asDouble(), loss, 1e-5, name + ": loss");
                model.zeroGradients();
                slp.backward(d);
                for (String p : model.parameters().names()) {
                    INDArray e = Nd4j.create(r.readFloats(name + "." + p), model.parameters().get(p).shape());
                    assertRelClose(name + " " + p, e, model.gradients().get(p), 1e-4);
                }
                checked++;
            }
        }
        assertEquals(4, checked, "every case of the fixture");
    }
}
