package org.align4j.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.nd4j.linalg.api.ndarray.INDArray;

import org.align4j.core.generate.ContinuousDecoder;
import org.align4j.core.generate.Generation;
import org.align4j.core.generate.Generator;
import org.align4j.core.generate.SamplingConfig;
import org.align4j.core.loss.LanguageModelLoss;

/** The checks prompt tuning and prefix tuning share: both train one {@code prompt_embeddings} table. */
final class VirtualTokenChecks {

    private VirtualTokenChecks() {
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
