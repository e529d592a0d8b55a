package org.align4j.core.model;

import static org.align4j.core.testing.GoldenFixtures.assertGradients;
import static org.align4j.core.testing.GoldenFixtures.assertRelClose;
import static org.align4j.core.testing.GoldenFixtures.floats;
import static org.align4j.core.testing.GoldenFixtures.ints;
import static org.align4j.core.testing.GoldenFixtures.tokenBatch;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.checkpoint.Safetensors;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.loss.LanguageModelLoss;
import org.align4j.core.optim.AdamW;
import org.align4j.core.optim.AdamWConfig;
import org.align4j.core.util.Json;

/**
 * DoRA with rsLoRA against PyTorch (tools/reference/gpt2_reference.py {@code lora_dora_fixture},
 * float64, written from PEFT's {@code DoraLinearLayer}: norm of {@code W + s B A} per output
 * feature, detached; GPT-2's Conv1D, fan_in_fan_out): the adapter as PEFT stores it
 * ({@code ...lora_magnitude_vector [out]}, {@code use_rslora}, {@code use_dora}, a
 * {@code lora_dropout} that a forward outside a training step ignores) loads onto its base; the
 * logits, the loss, the gradient of every lora_A, lora_B and magnitude, the loss after one AdamW
 * step, and the logits of the merged model (PEFT's merge) agree within 1e-4 relative.
 */
class DoraPyTorchGoldenTest {

    static final Path FIXTURES = Path.of("src/test/resources/fixtures/lora-dora-tiny");

    @ParameterizedTest
    @MethodSource("org.align4j.core.testing.GoldenFixtures#kernels")
    void forwardGradientsStepAndMergeMatchPyTorch(Kernels kernels) throws Exception {
        JsonNode meta = Json.MAPPER.readTree(FIXTURES.resolve("expected.json").toFile());
        GptModel m = (GptModel) ModelDirectory.loadAdapter(FIXTURES.resolve("adapter"), FIXTURES.resolve("model"),
                kernels, DataType.FLOAT, false);
        assertTrue(m.lora().dora() && m.lora().rslora(), "use_dora and use_rslora read");
        assertEquals(0.05, m.lora().dropout());
        assertEquals(meta.get("scale").asDouble(), m.lora().scale(), 1e-12);
        TokenBatch batch = tokenBatch(meta);
        int[] targets = ints(meta.get("targets"));
        float[] weights = floats(meta.get("loss_weights"));
        try (Safetensors.Reader expected = Safetensors.open(FIXTURES.resolve("expected.safetensors"))) {
            INDArray logits = Nd4j.create(DataType.FLOAT, batch.rows(), 64);
            expected.readInto("logits", logits);
            assertRelClose("logits", logits, m.forward(batch), 1e-4);
            m.zeroGradients();
            double loss = LanguageModelLoss.forwardBackward(m, batch, targets, weights);
            assertEquals(meta.get("loss").asDouble(), loss, 1e-4 * Math.abs(loss));
            assertEquals(2 * 4 * 3, assertGradients(m, expected, 1e-4), "A, B and magnitude of 4 modules in 2 blocks");

            JsonNode opt = meta.get("adamw");
            GptModel stepped = (GptModel) ModelDirectory.loadAdapter(FIXTURES.resolve("adapter"),
                    FIXTURES.resolve("model"), kernels, DataType.FLOAT, false);
            stepped.zeroGradients();
            LanguageModelLoss.forwardBackward(stepped, batch, targets, weights);
            new AdamW(stepped.trainableParameters(), new AdamWConfig(opt.get("betas").get(0).asDouble(),
                    opt.get("betas").get(1).asDouble(), opt.get("eps").asDouble(), opt.get("weight_decay").asDouble()))
                    .step(stepped.gradients(), opt.get("lr").asDouble());
            double after = LanguageModelLoss.evaluate(stepped, batch, targets, weights, null);
            double want = meta.get("loss_after_step").asDouble();
            assertEquals(want, after, 1e-4 * Math.abs(want));

            INDArray mergedLogits = Nd4j.create(DataType.FLOAT, batch.rows(), 64);
            expected.readInto("merged_logits", mergedLogits);
            DecoderModel plain = m.merged();
            assertNull(plain.lora());
            assertRelClose("merged logits", mergedLogits, plain.forward(batch), 1e-4);
        }
    }
}
