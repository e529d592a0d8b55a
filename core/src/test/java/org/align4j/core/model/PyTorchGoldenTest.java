package org.align4j.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.align4j.core.testing.GoldenFixtures.assertGradients;
import static org.align4j.core.testing.GoldenFixtures.assertRelClose;
import static org.align4j.core.testing.GoldenFixtures.floats;
import static org.align4j.core.testing.GoldenFixtures.ints;

import java.nio.file.Path;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.checkpoint.Safetensors;
import org.align4j.core.kernels.GenericKernels;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.loss.LanguageModelLoss;
import org.align4j.core.optim.AdamW;
import org.align4j.core.optim.AdamWConfig;
import org.align4j.core.optim.GradientClipping;
import org.align4j.core.optim.LrSchedule;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * fp32 forward, loss, every gradient and 5 AdamW steps against golden values from an
 * independent PyTorch GPT-2 (tools/reference/gpt2_reference.py, float64), within 1e-4
 * relative, for both kernel implementations.
 */
class PyTorchGoldenTest {

    static final Path FIXTURES = Path.of("src/test/resources/fixtures/gpt2-tiny");

    @ParameterizedTest
    @MethodSource("org.align4j.core.testing.GoldenFixtures#kernels")
    void logitsLossGradientsAndAdamWStepsMatchPyTorch(Kernels kernels) throws Exception {
        JsonNode meta = new ObjectMapper().readTree(FIXTURES.resolve("expected.json").toFile());
        GptModel model = (GptModel) ModelDirectory.load(FIXTURES.resolve("model"), kernels, DataType.FLOAT);
        int b = meta.get("batch").asInt();
        int t = meta.get("time").asInt();
        float[] mask = floats(meta.get("key_mask"));
        TokenBatch batch = new TokenBatch(b, t, ints(meta.get("tokens")), ints(meta.get("positions")), mask);
        int[] targets = ints(meta.get("targets"));
        float[] weights = floats(meta.get("loss_weights"));

        try (Safetensors.Reader expected = Safetensors.open(FIXTURES.resolve("expected.safetensors"))) {
            INDArray logits = model.forward(batch).dup();
            INDArray want = Nd4j.create(DataType.FLOAT, logits.shape());
            expected.readInto("logits", want);
            assertRelClose("logits", want, logits, 1e-4);

            model.zeroGradients();
            double loss = LanguageModelLoss.forwardBackward(model, batch, targets, weights);
            assertEquals(meta.get("loss").asDouble(), loss, 1e-4 * Math.abs(loss));
            assertEquals(model.parameters().names().size(), assertGradients(model, expected, 1e-4));
        }

        JsonNode opt = meta.get("adamw");
        GptModel fresh = (GptModel) ModelDirectory.load(FIXTURES.resolve("model"), kernels, DataType.FLOAT);
        AdamW adamw = new AdamW(fresh.parameters(), new AdamWConfig(opt.get("betas").get(0).asDouble(),
                opt.get("betas").get(1).asDouble(), opt.get("eps").asDouble(), opt.get("weight_decay").asDouble()));
        LrSchedule schedule = new LrSchedule(LrSchedule.Kind.COSINE, opt.get("lr").asDouble(),
                opt.get("warmup").asInt(), opt.get("total").asInt(), opt.get("min_ratio").asDouble());
        for (int step = 0; step < 5; step++) {
            fresh.zeroGradients();
            double loss = LanguageModelLoss.forwardBackward(fresh, batch, targets, weights);
            double norm = GradientClipping.clip(fresh.gradients(), opt.get("max_grad_norm").asDouble());
            adamw.step(fresh.gradients(), schedule.at(step));
            double want = opt.get("losses").get(step).asDouble();
            assertEquals(want, loss, 1e-4 * Math.abs(want), "loss at AdamW step " + step);
            double wantNorm = opt.get("grad_norms").get(step).asDouble();
            assertEquals(wantNorm, norm, 1e-4 * wantNorm, "grad norm at step " + step);
        }
    }

    @ParameterizedTest
    @MethodSource("halfPrecisionDirs")
    void halfPrecisionCheckpointsLoad(String dir, double tolerance) throws Exception {
        GptModel full = (GptModel) ModelDirectory.load(FIXTURES.resolve("model"), new GenericKernels(), DataType.FLOAT);
        GptModel half = (GptModel) ModelDirectory.load(FIXTURES.resolve(dir), new GenericKernels(), DataType.FLOAT);
        INDArray a = full.parameters().flat();
        INDArray h = half.parameters().flat();
        // each weight within half precision's rounding of the F32 value
        INDArray rel = a.sub(h).divi(Nd4j.math().abs(a).addi(1e-3));
        assertTrue(rel.amaxNumber().doubleValue() < tolerance, dir + ": " + rel.amaxNumber());
    }

    static Stream<org.junit.jupiter.params.provider.Arguments> halfPrecisionDirs() {
        return Stream.of(org.junit.jupiter.params.provider.Arguments.of("model-f16", 1e-3),
                org.junit.jupiter.params.provider.Arguments.of("model-bf16", 8e-3));
    }
}
