package org.align4j.core.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.Stream;

import org.align4j.core.kernels.CpuKernels;
import org.align4j.core.kernels.GenericKernels;
import org.align4j.core.model.Architecture;
import org.align4j.core.model.DecoderModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Continuous batching against the static {@link Generator} as the oracle: a sequence decoded alone
 * gives Generator's floats exactly; sequences that join a running batch at different steps (prompts
 * shorter and longer than the batch, greedy and sampled, rows leaving, the cache rebuilt) give each
 * its Generator output alone with the same seed: the same floats below the Vector API kernel's rows
 * (GPT-2 under 4, the Llama family under 8), the same tokens and log-probabilities within 1e-4 beyond.
 */
class ContinuousDecoderTest {

    private static final CpuKernels KERNELS = new CpuKernels(new GenericKernels(), 2);

    @AfterAll
    static void close() {
        KERNELS.close();
    }

    static Stream<Arguments> families() {
        Architecture.Shape gpt2 = new Architecture.Shape(300, 96, 128, 2, 4, 4, 512, true, 10000.0);
        Architecture.Shape llama = new Architecture.Shape(300, 96, 128, 2, 4, 2, 384, true, 10000.0);
        return Stream.of(Arguments.of(Architecture.GPT2, gpt2), Arguments.of(Architecture.LLAMA, llama));
    }

    /** Collects what a listener receives. */
    static final class Result implements ContinuousDecoder.Listener {
        final List<Integer> streamed = new ArrayList<>();
        Generation done;

        @Override
        public void token(int id, double logprob, List<Generation.TokenLogprob> top) {
            streamed.add(id);
        }

        @Override
        public void finished(Generation g) {
            done = g;
        }
    }

    static int[] prompt(SplittableRandom rng, int length, int vocab) {
        int[] p = new int[length];
        for (int t = 0; t < length; t++) {
            p[t] = rng.nextInt(vocab - 1);
        }
        return p;
    }

    static SamplingConfig sampling(int maxNew, boolean greedy, long seed) {
        return greedy ? new SamplingConfig(maxNew, 0, 0, 1, seed, 3, Set.of(), List.of())
                : new SamplingConfig(maxNew, 0.9, 0, 0.95, seed, 3, Set.of(), List.of());
    }

    @ParameterizedTest
    @MethodSource("families")
    void aloneEqualsGeneratorExactly(Architecture arch, Architecture.Shape shape) {
        DecoderModel m = arch.randomModel(arch.config(shape, shape.vocab() - 1), KERNELS, 5);
        int[] p = prompt(new SplittableRandom(1), 7, shape.vocab());
        for (boolean greedy : new boolean[] {true, false}) {
            SamplingConfig cfg = sampling(30, greedy, 42);
            Generation expected = new Generator(m).generate(List.of(p), cfg, null).get(0);
            ContinuousDecoder d = new ContinuousDecoder(m, 8);
            Result r = new Result();
            d.add(p, cfg, new SplittableRandom(42).split(), null, r);
            while (!d.idle()) {
                d.step();
            }
            assertArrayEquals(expected.tokenIds(), r.done.tokenIds(), arch + " greedy=" + greedy);
            assertArrayEquals(expected.logprobs(), r.done.logprobs(), 0.0, "bitwise equal log-probabilities");
            assertEquals(expected.topLogprobs(), r.done.topLogprobs());
            assertEquals(expected.finishReason(), r.done.finishReason());
            assertEquals(r.streamed.size(), r.done.tokenIds().length);
        }
    }

    static Stream<Arguments> batches() {
        Architecture.Shape gpt2 = new Architecture.Shape(300, 96, 128, 2, 4, 4, 512, true, 10000.0);
        Architecture.Shape llama = new Architecture.Shape(300, 96, 128, 2, 4, 2, 384, true, 10000.0);
        // below the Vector API kernel's rows (GPT-2's Conv1D from 4, the Llama family's Linear from 8) the
        // matmuls take chunked sgemv, whose rows do not depend on each other: bitwise equal; from there
        // the kernel sums a row in another order than one row's sgemv, and beyond 16 OpenBLAS's GEMM rounds
        // a row differently with the row count: same tokens, log-probabilities within 1e-4
        return Stream.of(Arguments.of(Architecture.GPT2, gpt2, 3, 0.0), Arguments.of(Architecture.LLAMA, llama, 4, 0.0),
                Arguments.of(Architecture.GPT2, gpt2, 4, 1e-4), Arguments.of(Architecture.LLAMA, llama, 8, 1e-4),
                Arguments.of(Architecture.GPT2, gpt2, 12, 1e-4));
    }

    @ParameterizedTest
    @MethodSource("batches")
    void joiningARunningBatchGivesEachSequenceItsOutputAlone(Architecture arch, Architecture.Shape shape, int rows,
                                                             double tolerance) {
        DecoderModel m = arch.randomModel(arch.config(shape, shape.vocab() - 1), KERNELS, 7);
        SplittableRandom rng = new SplittableRandom(3);
        ContinuousDecoder d = new ContinuousDecoder(m, rows);
        List<int[]> prompts = new ArrayList<>();
        List<SamplingConfig> cfgs = new ArrayList<>();
        List<Result> results = new ArrayList<>();
        // more sequences than rows: some wait; prompts of 1 to 30 tokens, so that some joiners are longer
        // than the running batch (a rebuild) and others join in place at an offset; 30-40 new tokens, so
        // that caches fill and are rebuilt, and rows leave while others run
        int[] lengths = {5, 2, 9, 30, 3, 12, 1, 25, 4, 7, 16, 2, 11, 6, 3};
        int sequences = rows + 5;
        int maxWidth = 0;
        for (int i = 0; i < sequences; i++) {
            int[] p = prompt(rng, lengths[i % lengths.length], shape.vocab());
            SamplingConfig cfg = sampling(30 + rng.nextInt(11), i % 3 != 1, 100 + i);
            Result r = new Result();
            prompts.add(p);
            cfgs.add(cfg);
            results.add(r);
            d.add(p, cfg, new SplittableRandom(100 + i).split(), null, r);
            for (int s = 0; s < 1 + i % (rows > 4 ? 2 : 4); s++) {
                d.step();
                maxWidth = Math.max(maxWidth, d.batch().width());
            }
        }
        while (!d.idle()) {
            d.step();
            assertTrue(d.running() <= rows);
        }
        int exact = 0;
        int total = 0;
        for (int i = 0; i < prompts.size(); i++) {
            Generation alone = new Generator(m).generate(List.of(prompts.get(i)), cfgs.get(i), null).get(0);
            Generation got = results.get(i).done;
            assertNotNull(got, "sequence " + i + " finished");
            assertArrayEquals(alone.tokenIds(), got.tokenIds(), arch + " sequence " + i);
            for (int t = 0; t < alone.logprobs().length; t++) {
                assertEquals(alone.logprobs()[t], got.logprobs()[t], tolerance, "sequence " + i + " logprob " + t);
                exact += alone.logprobs()[t] == got.logprobs()[t] ? 1 : 0;
                total++;
            }
        }
        assertEquals(rows, maxWidth, "the batch grew to its " + rows + " rows");
        assertTrue(d.batch().rebuilds() > 3, "caches were rebuilt (" + d.batch().rebuilds() + ")");
        assertEquals(0, d.batch().active());
        System.out.printf("%s, %d rows: %d of %d log-probabilities bitwise equal to decoding alone; %d rebuilds%n",
                arch, rows, exact, total, d.batch().rebuilds());
    }

    @Test
    void cancelledSequencesLeaveAndTheOthersAreUnchanged() {
        Architecture.Shape shape = new Architecture.Shape(300, 96, 128, 2, 4, 4, 512, true, 10000.0);
        DecoderModel m = Architecture.GPT2.randomModel(Architecture.GPT2.config(shape, 299), KERNELS, 9);
        SplittableRandom rng = new SplittableRandom(4);
        int[] a = prompt(rng, 6, 300);
        int[] b = prompt(rng, 4, 300);
        SamplingConfig cfg = sampling(20, true, 0);
        ContinuousDecoder d = new ContinuousDecoder(m, 8);
        Result ra = new Result();
        Result rb = new Result();
        d.add(a, cfg, new SplittableRandom(0), null, ra);
        ContinuousDecoder.Sequence sb = d.add(b, cfg, new SplittableRandom(0), null, rb);
        d.step();
        d.step();
        sb.cancel();
        while (!d.idle()) {
            d.step();
        }
        assertNull(rb.done, "a cancelled sequence has no result");
        assertEquals(3, rb.streamed.size(), "it got 3 tokens before it was cancelled (prefill + 2 steps)");
        Generation alone = new Generator(m).generate(List.of(a), cfg, null).get(0);
        assertArrayEquals(alone.tokenIds(), ra.done.tokenIds());
    }

    @Test
    void stopTokensAndStringsEndASequenceAsInGenerator() {
        Architecture.Shape shape = new Architecture.Shape(300, 96, 128, 2, 4, 4, 512, true, 10000.0);
        DecoderModel m = Architecture.GPT2.randomModel(Architecture.GPT2.config(shape, 299), KERNELS, 11);
        int[] p = prompt(new SplittableRandom(6), 5, 300);
        Generation free = new Generator(m).generate(List.of(p), sampling(20, true, 0), null).get(0);
        int stopAt = free.tokenIds()[3];
        SamplingConfig cfg = new SamplingConfig(20, 0, 0, 1, 0, 0, Set.of(stopAt), List.of());
        Generation expected = new Generator(m).generate(List.of(p), cfg, null).get(0);
        ContinuousDecoder d = new ContinuousDecoder(m, 2);
        Result r = new Result();
        d.add(p, cfg, new SplittableRandom(0), null, r);
        while (!d.idle()) {
            d.step();
        }
        assertEquals("stop", r.done.finishReason());
        assertArrayEquals(expected.tokenIds(), r.done.tokenIds());
        assertEquals(expected.completionTokens(), r.done.completionTokens());
        // a stop string over the decoded ids (a decoder that spells ids as "<id>")
        String stop = "<" + free.tokenIds()[5] + ">";
        SamplingConfig strings = new SamplingConfig(20, 0, 0, 1, 0, 0, Set.of(), List.of(stop));
        Function<int[], String> spell = ids -> {
            StringBuilder sb = new StringBuilder();
            for (int id : ids) {
                sb.append('<').append(id).append('>');
            }
            return sb.toString();
        };
        Generation byString = new Generator(m).generate(List.of(p), strings, spell).get(0);
        Result rs = new Result();
        d.add(p, strings, new SplittableRandom(0), spell, rs);
        while (!d.idle()) {
            d.step();
        }
        assertArrayEquals(byString.tokenIds(), rs.done.tokenIds());
        assertEquals("stop", rs.done.finishReason());
    }
}
