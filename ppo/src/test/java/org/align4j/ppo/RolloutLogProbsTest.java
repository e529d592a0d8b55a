package org.align4j.ppo;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

import org.align4j.core.generate.Generation;
import org.align4j.core.generate.Generator;
import org.align4j.core.generate.SamplingConfig;
import org.align4j.core.kernels.CpuKernels;
import org.align4j.core.kernels.GenericKernels;
import org.align4j.core.loss.SequenceLogProbs;
import org.align4j.core.model.GptConfig;
import org.align4j.core.model.GptModel;
import org.align4j.core.model.TokenBatch;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The log-probabilities the KV-cache sampler reports for a left-padded batch of prompts equal those
 * of a right-padded training forward over prompt + response, token by token (PPO's ratio starts at 1).
 */
class RolloutLogProbsTest {

    @Test
    void samplerLogProbsEqualATrainingForward() {
        check(false);
    }

    /** A vocabulary padded beyond its tokenizer: no id beyond the limit is sampled, and the two still agree. */
    @Test
    void aLimitedVocabularyIsNeverLeftAndStillAgrees() {
        check(true);
    }

    private void check(boolean limited) {
        GptModel m = new GptModel(GptConfig.of(50, 40, 32, 2, 4), new CpuKernels(new GenericKernels(), 2),
                DataType.FLOAT).initialize(7);
        m.parameters().flat().muli(4); // a peaked distribution: errors would show
        if (limited) {
            m.limitVocabulary(30);
        }
        List<int[]> prompts = List.of(new int[] {3, 9, 4}, new int[] {7}, new int[] {1, 2, 3, 4, 5, 6});
        for (double temperature : new double[] {1.0, 0.7}) {
            List<Generation> gens = new Generator(m).generate(prompts, new SamplingConfig(10, temperature, 0, 1.0, 11,
                    0, Set.of(), List.of()), null);
            int[][] inputs = new int[prompts.size()][];
            for (int b = 0; b < inputs.length; b++) {
                int[] p = prompts.get(b);
                int[] seq = Arrays.copyOf(p, p.length + gens.get(b).tokenIds().length);
                System.arraycopy(gens.get(b).tokenIds(), 0, seq, p.length, gens.get(b).tokenIds().length);
                inputs[b] = Arrays.copyOf(seq, seq.length - 1);
            }
            TokenBatch batch = TokenBatch.rightPadded(inputs, 0);
            int t = batch.time();
            int[] targets = new int[batch.rows()];
            float[] mask = new float[batch.rows()];
            List<int[]> rows = new ArrayList<>();
            for (int b = 0; b < inputs.length; b++) {
                int[] r = new int[gens.get(b).tokenIds().length];
                for (int j = 0; j < r.length; j++) {
                    r[j] = b * t + prompts.get(b).length - 1 + j;
                    targets[r[j]] = gens.get(b).tokenIds()[j];
                    mask[r[j]] = 1f;
                }
                rows.add(r);
            }
            // the sampler reports log-probabilities of the model's own distribution (temperature 1)
            double[] lp = new SequenceLogProbs(m).forwardRows(batch, targets, mask, 1.0);
            double worst = 0;
            for (int b = 0; b < inputs.length; b++) {
                for (int j = 0; j < rows.get(b).length; j++) {
                    worst = Math.max(worst, Math.abs(lp[rows.get(b)[j]] - gens.get(b).logprobs()[j]));
                }
            }
            assertTrue(worst < 1e-4, "temperature " + temperature + ": largest difference " + worst);
            int largest = gens.stream().flatMapToInt(g -> Arrays.stream(g.tokenIds())).max().orElse(0);
            if (limited) {
                assertTrue(largest < 30, "sampled id " + largest + " beyond the limit of 30");
            } else {
                assertTrue(largest >= 30, "unlimited, the model samples beyond 30 (so the limit is what stops it)");
            }
        }
    }
}
