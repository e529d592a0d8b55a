package org.align4j.core.model;

import static org.align4j.core.testing.GoldenFixtures.assertGradients;
import static org.align4j.core.testing.GoldenFixtures.assertRelClose;
import static org.align4j.core.testing.GoldenFixtures.floats;
import static org.align4j.core.testing.GoldenFixtures.ints;
import static org.align4j.core.testing.GoldenFixtures.tokenBatch;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import org.align4j.core.checkpoint.Safetensors;
import org.align4j.core.generate.Generation;
import org.align4j.core.generate.Generator;
import org.align4j.core.generate.SamplingConfig;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.optim.AdamW;
import org.align4j.core.optim.AdamWConfig;
import org.align4j.core.util.Json;

/**
 * The Llama-family decoder against an independent PyTorch implementation of the published
 * architecture (tools/reference/gpt2_reference.py, float64): grouped-query attention (4 query
 * heads over 2 key/value heads), rotary embeddings, RMSNorm, SwiGLU, Qwen2's q/k/v biases and an
 * untied head, on a right-padded batch: logits, loss, every gradient and 3 AdamW steps within 1e-4
 * relative, for both kernel implementations.
 */
class LlamaPyTorchGoldenTest {

    static final Path FIXTURES = Path.of("src/test/resources/fixtures/llama-tiny");

    @ParameterizedTest
    @MethodSource("org.align4j.core.testing.GoldenFixtures#kernels")
    void logitsLossGradientsAndAdamWStepsMatchPyTorch(Kernels kernels) throws Exception {
        JsonNode meta = Json.MAPPER.readTree(FIXTURES.resolve("expected.json").toFile());
        LlamaModel m = load(kernels);
        TokenBatch batch = tokenBatch(meta);
        int[] targets = ints(meta.get("targets"));
        float[] weights = floats(meta.get("loss_weights"));
        try (Safetensors.Reader expected = Safetensors.open(FIXTURES.resolve("expected.safetensors"))) {
            INDArray logits = m.forward(batch);
            INDArray want = Nd4j.create(DataType.FLOAT, logits.shape());
            expected.readInto("logits", want);
            assertRelClose("logits", want, logits, 1e-4);
            m.zeroGradients();
            double loss = lossAndBackward(m, kernels, batch, targets, weights);
            assertEquals(meta.get("loss").asDouble(), loss, 1e-4 * Math.abs(loss));
            assertEquals(m.parameters().names().size(), assertGradients(m, expected, 1e-4));
        }
        JsonNode opt = meta.get("adamw");
        LlamaModel fresh = load(kernels);
        AdamW adamw = new AdamW(fresh.parameters(), new AdamWConfig(opt.get("betas").get(0).asDouble(),
                opt.get("betas").get(1).asDouble(), opt.get("eps").asDouble(), 0.0));
        for (int step = 0; step < 3; step++) {
            fresh.zeroGradients();
            double loss = lossAndBackward(fresh, kernels, batch, targets, weights);
            adamw.step(fresh.gradients(), opt.get("lr").asDouble());
            double w = opt.get("losses").get(step).asDouble();
            assertEquals(w, loss, 1e-4 * Math.abs(w), "loss at AdamW step " + step);
        }
    }

    /** KV-cache decoding with grouped-query attention: PyTorch's greedy tokens, one by one, and the full forward's logits. */
    @ParameterizedTest
    @MethodSource("org.align4j.core.testing.GoldenFixtures#kernels")
    void cachedGreedyDecodingMatchesPyTorchTokenForToken(Kernels kernels) throws Exception {
        JsonNode meta = Json.MAPPER.readTree(FIXTURES.resolve("expected.json").toFile());
        LlamaModel m = load(kernels);
        int[] prompt = ints(meta.get("greedy_prompt"));
        int[] want = ints(meta.get("greedy"));
        KvCache cache = m.newCache(1, prompt.length + want.length);
        float[] ones = new float[prompt.length];
        Arrays.fill(ones, 1f);
        cache.setMasks(ones, prompt.length);
        int[] positions = new int[prompt.length];
        for (int i = 0; i < positions.length; i++) {
            positions[i] = i;
        }
        INDArray logits = m.forwardCached(cache, prompt, positions, prompt.length);
        int[] seq = Arrays.copyOf(prompt, prompt.length + want.length);
        for (int t = 0; t < want.length; t++) {
            int len = prompt.length + t;
            INDArray full = m.forward(TokenBatch.of(new int[][] {Arrays.copyOf(seq, len)}));
            assertRelClose("cached logits at " + len, full.getRow(len - 1).reshape(1, -1), logits, 1e-4);
            int next = logits.argMax(1).getInt(0);
            assertEquals(want[t], next, "greedy token " + t);
            seq[len] = next;
            cache.setMasks(new float[] {1f}, 1);
            logits = m.forwardCached(cache, new int[] {next}, new int[] {len}, 1);
        }
    }

    /** Left-padded batches keep rotary positions right: prompts of different lengths together equal each alone. */
    @ParameterizedTest
    @MethodSource("org.align4j.core.testing.GoldenFixtures#kernels")
    void aLeftPaddedBatchGeneratesAsEachPromptAlone(Kernels kernels) throws Exception {
        LlamaModel m = load(kernels);
        List<int[]> prompts = List.of(new int[] {1, 2, 3, 4, 5, 6, 7}, new int[] {9}, new int[] {3, 12, 6});
        SamplingConfig cfg = SamplingConfig.greedy(6);
        List<Generation> batch = new Generator(m).generate(prompts, cfg, null);
        for (int i = 0; i < prompts.size(); i++) {
            Generation alone = new Generator(m).generate(List.of(prompts.get(i)), cfg, null).get(0);
            assertArrayEquals(alone.tokenIds(), batch.get(i).tokenIds(), "prompt " + i);
            for (int t = 0; t < alone.tokenIds().length; t++) {
                assertEquals(alone.logprobs()[t], batch.get(i).logprobs()[t], 1e-4, "prompt " + i + ", token " + t);
            }
        }
    }

    private static double lossAndBackward(LlamaModel m, Kernels kernels, TokenBatch batch, int[] targets,
                                          float[] weights) {
        INDArray logits = m.forward(batch);
        double loss = kernels.crossEntropy(logits, targets, weights, logits);
        m.backward(logits);
        return loss;
    }

    private static LlamaModel load(Kernels kernels) throws Exception {
        LlamaModel m = new LlamaModel(LlamaConfig.read(FIXTURES.resolve("model/config.json")), kernels,
                DataType.FLOAT);
        try (Safetensors.Reader r = Safetensors.open(FIXTURES.resolve("model/model.safetensors"))) {
            for (String name : m.parameters().names()) {
                r.readInto(name, m.parameters().get(name));
            }
        }
        return m;
    }
}
