package org.align4j.core.model;

import static org.align4j.core.testing.GoldenFixtures.assertGradients;
import static org.align4j.core.testing.GoldenFixtures.floats;
import static org.align4j.core.testing.GoldenFixtures.ints;
import static org.align4j.core.testing.GoldenFixtures.tokenBatch;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;

import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.checkpoint.Safetensors;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.loss.LanguageModelLoss;
import org.align4j.core.optim.AdamW;
import org.align4j.core.optim.AdamWConfig;
import org.align4j.core.util.Json;

/**
 * One LoRA training step against PyTorch (tools/reference/gpt2_reference.py, float64, PEFT's
 * fan_in_fan_out convention): the adapter as PEFT stores it loads onto its base, and the loss, the
 * gradient of every lora_A and lora_B, and the loss after one AdamW step of the adapter agree within
 * 1e-4 relative, for both kernel implementations.
 */
class LoraPyTorchGoldenTest {

    static final Path FIXTURES = Path.of("src/test/resources/fixtures/lora-tiny");

    @ParameterizedTest
    @MethodSource("org.align4j.core.testing.GoldenFixtures#kernels")
    void lossAdapterGradientsAndOneStepMatchPyTorch(Kernels kernels) throws Exception {
        JsonNode meta = Json.MAPPER.readTree(FIXTURES.resolve("expected.json").toFile());
        GptModel m = (GptModel) ModelDirectory.loadAdapter(FIXTURES.resolve("adapter"), FIXTURES.resolve("model"), kernels,
                DataType.FLOAT, false);
        assertEquals(meta.get("r").asInt(), m.lora().r());
        TokenBatch batch = tokenBatch(meta);
        int[] targets = ints(meta.get("targets"));
        float[] weights = floats(meta.get("loss_weights"));
        m.zeroGradients();
        double loss = LanguageModelLoss.forwardBackward(m, batch, targets, weights);
        assertEquals(meta.get("loss").asDouble(), loss, 1e-4 * Math.abs(loss));
        int checked;
        try (Safetensors.Reader expected = Safetensors.open(FIXTURES.resolve("expected.safetensors"))) {
            checked = assertGradients(m, expected, 1e-4);
        }
        assertEquals(2 * 4 * 2, checked, "A and B of 4 modules in 2 blocks");
        JsonNode opt = meta.get("adamw");
        AdamW adamw = new AdamW(m.trainableParameters(), new AdamWConfig(opt.get("betas").get(0).asDouble(),
                opt.get("betas").get(1).asDouble(), opt.get("eps").asDouble(), opt.get("weight_decay").asDouble()));
        adamw.step(m.gradients(), opt.get("lr").asDouble());
        double after = LanguageModelLoss.evaluate(m, batch, targets, weights, null);
        double want = meta.get("loss_after_step").asDouble();
        assertEquals(want, after, 1e-4 * Math.abs(want));
    }
}
