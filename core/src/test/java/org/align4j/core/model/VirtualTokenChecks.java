package org.align4j.core.model;

import static org.align4j.core.testing.GoldenFixtures.assertRelClose;
import static org.align4j.core.testing.GoldenFixtures.floats;
import static org.align4j.core.testing.GoldenFixtures.ints;
import static org.align4j.core.testing.GoldenFixtures.tokenBatch;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.LongFunction;

import com.fasterxml.jackson.databind.JsonNode;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.checkpoint.Safetensors;
import org.align4j.core.generate.ContinuousDecoder;
import org.align4j.core.generate.Generation;
import org.align4j.core.generate.Generator;
import org.align4j.core.generate.SamplingConfig;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.loss.LanguageModelLoss;
import org.align4j.core.optim.AdamW;
import org.align4j.core.optim.AdamWConfig;
import org.align4j.core.testing.GoldenFixtures;
import org.align4j.core.util.Json;
import org.align4j.core.util.UserInputException;

/**
 * The models and checks prompt tuning and prefix tuning share: both train one {@code prompt_embeddings}
 * table of three virtual tokens on the same tiny GPT-2 and Qwen2-shaped bases.
 */
final class VirtualTokenChecks {

    enum Family { GPT2, LLAMA }

    private static final GptConfig GPT = GptConfig.of(13, 16, 12, 2, 2);
    private static final LlamaConfig QWEN = new LlamaConfig("qwen2", 13, 16, 24, 2, 4, 2, 1e-6, 10000.0, null, 16,
            false, true, null, List.of(12));
    static final TokenBatch BATCH = TokenBatch.rightPadded(new int[][] {{3, 1, 4, 1, 5, 9}, {2, 6, 5}}, 0);

    private VirtualTokenChecks() {
    }

    static DecoderModel base(Family f, Kernels k, DataType type, long seed) {
        return f == Family.GPT2 ? new GptModel(GPT, k, type).initialize(seed)
                : new LlamaModel(QWEN, k, type, false, Trainable.ALL).initialize(seed);
    }

    /**
     * The PyTorch fixture in {@code dir} (written from PEFT's forward) against the adapter it holds, with
     * every kernel set: the real tokens' logits, the loss, the gradient of {@code prompt_embeddings}
     * ({@code gradColumns} wide), greedy decoding through the KV cache and the loss after one AdamW step.
     */
    static void assertMatchesFixture(Path dir, int gradColumns) throws Exception {
        JsonNode meta = Json.MAPPER.readTree(dir.resolve("expected.json").toFile());
        TokenBatch batch = tokenBatch(meta);
        int[] targets = ints(meta.get("targets"));
        float[] weights = floats(meta.get("loss_weights"));
        for (Kernels kernels : GoldenFixtures.kernels().toList()) {
            DecoderModel m = ModelDirectory.loadAdapter(dir.resolve("adapter"), dir.resolve("model"), kernels,
                    DataType.FLOAT, false);
            assertEquals(3, m.virtualTokenCount());
            try (Safetensors.Reader expected = Safetensors.open(dir.resolve("expected.safetensors"))) {
                INDArray logits = Nd4j.create(DataType.FLOAT, batch.rows(), 64);
                expected.readInto("logits", logits);
                assertRelClose("logits of the real tokens", logits, m.forward(batch), 1e-4);
                m.zeroGradients();
                double loss = LanguageModelLoss.forwardBackward(m, batch, targets, weights);
                assertEquals(meta.get("loss").asDouble(), loss, 1e-4 * Math.abs(loss));
                INDArray grad = Nd4j.create(DataType.FLOAT, 3, gradColumns);
                expected.readInto("grad.prompt_embeddings", grad);
                assertRelClose("grad prompt_embeddings", grad, m.gradients().get("prompt_embeddings"), 1e-4);
                assertEquals(List.of("prompt_embeddings"), m.trainableParameters().names(), "only the prompt trains");

                int[] prompt = ints(meta.get("greedy_prompt"));
                Generation gen = new Generator(m).generate(List.of(prompt), SamplingConfig.greedy(5), null).get(0);
                assertArrayEquals(ints(meta.get("greedy")), gen.tokenIds(), "greedy decoding through the KV cache");

                JsonNode opt = meta.get("adamw");
                new AdamW(m.trainableParameters(), new AdamWConfig(opt.get("betas").get(0).asDouble(),
                        opt.get("betas").get(1).asDouble(), opt.get("eps").asDouble(),
                        opt.get("weight_decay").asDouble())).step(m.gradients(), opt.get("lr").asDouble());
                double want = meta.get("loss_after_step").asDouble();
                assertEquals(want, LanguageModelLoss.evaluate(m, batch, targets, weights, null), 1e-4 * Math.abs(want));
            }
        }
    }

    /**
     * {@code tuned(seed)} over {@code base}: the virtual tokens change the real tokens' logits and only
     * theirs are returned; adapters off give the base exactly; KV-cache decoding equals the full forward
     * and the continuous batcher the generator; a training step moves the table and leaves the base bit
     * identical; merge is refused naming {@code kind}.
     */
    static void assertDecodesAsTheFullForwardTrainsOnlyThePromptAndIsNotMergeable(
            DecoderModel base, LongFunction<DecoderModel> tuned, String kind) {
        INDArray want = base.forward(BATCH).dup();
        DecoderModel m = tuned.apply(6);
        INDArray adapted = m.forward(BATCH).dup();
        assertEquals(BATCH.rows(), adapted.rows(), "the real tokens' logits only");
        assertTrue(adapted.sub(want).amaxNumber().doubleValue() > 1e-2, "the prompt changes the output");
        m.setAdaptersEnabled(false);
        assertEquals(0, m.virtualTokenCount());
        assertEquals(want, m.forward(BATCH), "adapter off: exactly the base");
        m.setAdaptersEnabled(true);

        int[] seq = {3, 1, 4, 1, 5};
        INDArray full = m.forward(TokenBatch.of(new int[][] {seq})).dup();
        KvCache cache = m.newCache(1, seq.length);
        assertEquals(3, cache.length(), "the virtual tokens prefilled");
        cache.setMasks(new float[] {1, 1, 1}, 3);
        INDArray first = m.forwardCached(cache, new int[] {3, 1, 4}, new int[] {0, 1, 2}, 3).dup();
        assertTrue(first.sub(full.getRow(2)).amaxNumber().doubleValue() < 1e-4);
        for (int t = 3; t < seq.length; t++) {
            cache.setMasks(new float[] {1}, 1);
            INDArray next = m.forwardCached(cache, new int[] {seq[t]}, new int[] {t}, 1);
            assertTrue(next.sub(full.getRow(t)).amaxNumber().doubleValue() < 1e-4, "position " + t);
        }

        assertContinuousBatcherDecodesAsGenerator(m);

        DecoderModel stepped = tuned.apply(6);
        stepped.zeroGradients();
        int[] targets = new int[BATCH.rows()];
        float[] weights = new float[BATCH.rows()];
        Arrays.fill(weights, 1f / BATCH.rows());
        LanguageModelLoss.forwardBackward(stepped, BATCH, targets, weights);
        new AdamW(stepped.trainableParameters(), new AdamWConfig(0.9, 0.999, 1e-8, 0.01)).step(stepped.gradients(),
                1e-2);
        for (String n : base.parameters().names()) {
            assertEquals(base.parameters().get(n), stepped.parameters().get(n), "frozen: " + n);
        }
        assertNotEquals(m.parameters().get("prompt_embeddings"), stepped.parameters().get("prompt_embeddings"));

        UserInputException e = assertThrows(UserInputException.class, m::merged);
        assertTrue(e.getMessage().contains(kind + " cannot be merged"), e.getMessage());
    }

    /** Central differences in double against the analytic gradient of {@code prompt_embeddings}, six entries. */
    static void assertPromptGradientMatchesFiniteDifferences(DecoderModel m, TokenBatch batch, String what) {
        int[] targets = new int[batch.rows()];
        float[] weights = new float[batch.rows()];
        SplittableRandom r = new SplittableRandom(8);
        for (int i = 0; i < targets.length; i++) {
            targets[i] = r.nextInt(13);
            weights[i] = i % 5 == 4 ? 0f : 1f / targets.length;
        }
        m.zeroGradients();
        LanguageModelLoss.forwardBackward(m, batch, targets, weights);
        INDArray p = m.parameters().get("prompt_embeddings").reshape(-1);
        INDArray g = m.gradients().get("prompt_embeddings").reshape(-1);
        assertEquals(List.of("prompt_embeddings"), m.trainableParameters().names());
        for (int trial = 0; trial < 6; trial++) {
            long i = r.nextLong(p.length());
            double h = 1e-6;
            double orig = p.getDouble(i);
            p.putScalar(i, orig + h);
            double up = LanguageModelLoss.evaluate(m, batch, targets, weights, null);
            p.putScalar(i, orig - h);
            double down = LanguageModelLoss.evaluate(m, batch, targets, weights, null);
            p.putScalar(i, orig);
            double fd = (up - down) / (2 * h);
            assertEquals(fd, g.getDouble(i), 1e-8 + 1e-5 * Math.abs(fd), what + " prompt_embeddings[" + i + "]");
        }
    }

    /** The continuous batcher (rows joining, caches rebuilt) decodes each prompt as the generator alone. */
    static void assertContinuousBatcherDecodesAsGenerator(DecoderModel m) {
        List<int[]> prompts = List.of(new int[] {5, 2, 9, 1}, new int[] {7}, new int[] {3, 3, 8, 1, 2, 6, 4});
        SamplingConfig cfg = SamplingConfig.greedy(6);
        ContinuousDecoder d = new ContinuousDecoder(m, 2);
        List<Generation[]> done = new ArrayList<>();
        for (int[] p : prompts) {
            Generation[] box = new Generation[1];
            done.add(box);
            d.add(p, cfg, new SplittableRandom(1), null, new ContinuousDecoder.Listener() {
                @Override
                public void token(int id, double logprob, List<Generation.TokenLogprob> top) {
                }

                @Override
                public void finished(Generation g) {
                    box[0] = g;
                }
            });
        }
        while (!d.idle()) {
            d.step();
        }
        for (int i = 0; i < prompts.size(); i++) {
            Generation alone = new Generator(m).generate(List.of(prompts.get(i)), cfg, null).get(0);
            assertArrayEquals(alone.tokenIds(), done.get(i)[0].tokenIds(), "prompt " + i);
        }
    }
}
