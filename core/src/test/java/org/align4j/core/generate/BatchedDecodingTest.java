package org.align4j.core.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import org.align4j.core.kernels.CpuKernels;
import org.align4j.core.kernels.GenericKernels;
import org.align4j.core.model.Architecture;
import org.align4j.core.model.DecoderModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Batched greedy decoding equals each sequence decoded alone, token for token, in both families, at
 * batches that take the few-row path (up to 8 rows, weights wide enough for several 2 MB chunks, in
 * both the Linear and the Conv1D layout) and the GEMM path (more rows), with ragged prompts left-padded.
 */
class BatchedDecodingTest {

    private static final CpuKernels KERNELS = new CpuKernels(new GenericKernels(), 2);

    @AfterAll
    static void close() {
        KERNELS.close();
    }

    static Stream<Arguments> cases() {
        // GPT-2 512 wide: c_fc [512, 2048] and c_proj [2048, 512] span two chunks each; Llama 512 wide over
        // 2 key/value heads: gate and up [1536, 512] span two chunks
        Architecture.Shape gpt2 = new Architecture.Shape(300, 64, 512, 2, 8, 8, 2048, true, 10000.0);
        Architecture.Shape llama = new Architecture.Shape(300, 64, 512, 2, 8, 2, 1536, true, 10000.0);
        return Stream.of(Arguments.of(Architecture.GPT2, gpt2, 5), Arguments.of(Architecture.GPT2, gpt2, 11),
                Arguments.of(Architecture.LLAMA, llama, 5), Arguments.of(Architecture.LLAMA, llama, 11));
    }

    @ParameterizedTest
    @MethodSource("cases")
    void batchedGreedyEqualsEachSequenceAlone(Architecture arch, Architecture.Shape shape, int batch) {
        DecoderModel m = arch.randomModel(arch.config(shape, shape.vocab() - 1), KERNELS, 3);
        SplittableRandom rng = new SplittableRandom(batch);
        List<int[]> prompts = new ArrayList<>();
        for (int i = 0; i < batch; i++) {
            int[] p = new int[1 + rng.nextInt(9)]; // 1 to 9 tokens: the shorter ones left-padded
            for (int t = 0; t < p.length; t++) {
                p[t] = rng.nextInt(shape.vocab() - 1);
            }
            prompts.add(p);
        }
        SamplingConfig greedy = SamplingConfig.greedy(8);
        List<Generation> together = new Generator(m).generate(prompts, greedy, null);
        for (int i = 0; i < batch; i++) {
            Generation alone = new Generator(m).generate(List.of(prompts.get(i)), greedy, null).get(0);
            assertArrayEquals(alone.tokenIds(), together.get(i).tokenIds(), arch + " sequence " + i + " of " + batch);
            for (int t = 0; t < alone.tokenIds().length; t++) {
                assertEquals(alone.logprobs()[t], together.get(i).logprobs()[t], 1e-4, "logprob " + t);
            }
        }
    }
}
