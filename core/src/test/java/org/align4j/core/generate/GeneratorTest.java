package org.align4j.core.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.kernels.CpuKernels;
import org.align4j.core.kernels.GenericKernels;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.model.GptModel;
import org.align4j.core.model.TokenBatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

class GeneratorTest {

    static Stream<Kernels> kernels() {
        return Stream.of(new GenericKernels(), new CpuKernels(new GenericKernels(), 2));
    }

    static GptModel model(Kernels k) throws Exception {
        return (GptModel) ModelDirectory.load(Path.of("src/test/resources/fixtures/gpt2-tiny/model"), k, DataType.FLOAT);
    }

    @ParameterizedTest
    @MethodSource("kernels")
    void kvCacheGreedyEqualsFullRecomputation(Kernels k) throws Exception {
        GptModel m = model(k);
        int[] prompt = {5, 17, 3, 3, 40};
        Generation g = new Generator(m).generate(List.of(prompt), SamplingConfig.greedy(9), null).get(0);
        assertEquals(9, g.tokenIds().length);
        assertEquals("length", g.finishReason());
        // recompute: the whole sequence through the training forward, one step at a time
        int[] seq = prompt.clone();
        for (int t = 0; t < 9; t++) {
            INDArray logits = m.forward(TokenBatch.of(new int[][] {seq}));
            float[] last = logits.getRow(seq.length - 1).toFloatVector();
            int next = Sampling.argmax(last);
            assertEquals(next, g.tokenIds()[t], "token " + t);
            assertEquals(Sampling.logSoftmax(last)[next], g.logprobs()[t], 1e-5, "logprob " + t);
            seq = Arrays.copyOf(seq, seq.length + 1);
            seq[seq.length - 1] = next;
        }
    }

    @ParameterizedTest
    @MethodSource("kernels")
    void batchOfDifferentLengthsEqualsEachAlone(Kernels k) throws Exception {
        GptModel m = model(k);
        List<int[]> prompts = List.of(new int[] {1, 2, 3, 4, 5, 6, 7}, new int[] {9}, new int[] {33, 12, 60});
        SamplingConfig cfg = new SamplingConfig(6, 0, 0, 1, 0, 3, Set.of(), List.of());
        List<Generation> batch = new Generator(m).generate(prompts, cfg, null);
        for (int i = 0; i < prompts.size(); i++) {
            Generation alone = new Generator(m).generate(List.of(prompts.get(i)), cfg, null).get(0);
            assertArrayEquals(alone.tokenIds(), batch.get(i).tokenIds(), "prompt " + i);
            for (int t = 0; t < alone.tokenIds().length; t++) {
                assertEquals(alone.logprobs()[t], batch.get(i).logprobs()[t], 1e-5);
                assertEquals(alone.topLogprobs().get(t).get(0).id(), batch.get(i).topLogprobs().get(t).get(0).id());
            }
        }
    }

    @Test
    void topLogprobsAreSortedAndIncludeTheGreedyChoice() throws Exception {
        GptModel m = model(new GenericKernels());
        Generation g = new Generator(m).generate(List.of(new int[] {4, 4}),
                new SamplingConfig(4, 0, 0, 1, 0, 5, Set.of(), List.of()), null).get(0);
        for (int t = 0; t < 4; t++) {
            List<Generation.TokenLogprob> top = g.topLogprobs().get(t);
            assertEquals(5, top.size());
            assertEquals(g.tokenIds()[t], top.get(0).id());
            assertEquals(g.logprobs()[t], top.get(0).logprob(), 1e-12);
            for (int j = 1; j < 5; j++) {
                assertTrue(top.get(j - 1).logprob() >= top.get(j).logprob());
            }
        }
    }

    @Test
    void samplingIsSeededAndFiltersBehave() throws Exception {
        GptModel m = model(new GenericKernels());
        Generator gen = new Generator(m);
        List<int[]> p = List.of(new int[] {7, 8, 9});
        SamplingConfig hot = new SamplingConfig(10, 1.5, 0, 1, 42, 0, Set.of(), List.of());
        int[] a = gen.generate(p, hot, null).get(0).tokenIds();
        int[] b = gen.generate(p, hot, null).get(0).tokenIds();
        assertArrayEquals(a, b, "same seed, same tokens");
        int[] c = gen.generate(p, new SamplingConfig(10, 1.5, 0, 1, 43, 0, Set.of(), List.of()), null).get(0)
                .tokenIds();
        assertNotEquals(Arrays.toString(a), Arrays.toString(c), "another seed, other tokens");
        int[] greedy = gen.generate(p, SamplingConfig.greedy(10), null).get(0).tokenIds();
        assertArrayEquals(greedy, gen.generate(p, new SamplingConfig(10, 1.0, 1, 1, 5, 0, Set.of(), List.of()), null)
                .get(0).tokenIds(), "top-k 1 is greedy");
        assertArrayEquals(greedy, gen.generate(p, new SamplingConfig(10, 1.0, 0, 1e-9, 5, 0, Set.of(), List.of()),
                null).get(0).tokenIds(), "tiny top-p is greedy");
    }

    @Test
    void stopsOnEosAndOnStopStrings() throws Exception {
        GptModel m = model(new GenericKernels());
        Generator gen = new Generator(m);
        List<int[]> p = List.of(new int[] {7, 8, 9});
        // sampled (seeded) so that the continuation varies; the same seed replays it
        int[] greedy = gen.generate(p, new SamplingConfig(8, 1.0, 0, 1, 11, 0, Set.of(), List.of()), null).get(0)
                .tokenIds();
        // make the first greedy token that did not occur before position t >= 1 the end-of-sequence token
        int t = 1;
        while (t < greedy.length && contains(greedy, t, greedy[t])) {
            t++;
        }
        assertTrue(t < greedy.length, "greedy continuation too repetitive for this test: " + Arrays.toString(greedy));
        Generation g = gen.generate(p, new SamplingConfig(8, 1.0, 0, 1, 11, 0, Set.of(greedy[t]), List.of()), null).get(0);
        assertEquals("stop", g.finishReason());
        assertEquals(t + 1, g.tokenIds().length);
        assertEquals(t, g.completionTokens(), "the EOS token is not part of the completion text");
        // stop string over a toy decoder that spells token ids as letters
        java.util.function.Function<int[], String> decoder = ids -> {
            StringBuilder sb = new StringBuilder();
            for (int id : ids) {
                sb.append((char) ('A' + id % 26));
            }
            return sb.toString();
        };
        String stop = decoder.apply(new int[] {greedy[t]});
        SamplingConfig withStop = new SamplingConfig(8, 1.0, 0, 1, 11, 0, Set.of(), List.of(stop));
        Generation s = gen.generate(p, withStop, decoder).get(0);
        assertEquals("stop", s.finishReason());
        String text = Generator.completionText(s, withStop, decoder);
        assertEquals(decoder.apply(Arrays.copyOf(greedy, t)), text, "completion cut before the stop string");
    }

    private static boolean contains(int[] a, int before, int value) {
        for (int i = 0; i < before; i++) {
            if (a[i] == value) {
                return true;
            }
        }
        return false;
    }

    @Test
    void contextLimitEndsWithLength() throws Exception {
        GptModel m = model(new GenericKernels()); // n_positions = 16
        Generation g = new Generator(m).generate(List.of(new int[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}),
                SamplingConfig.greedy(100), null).get(0);
        assertEquals(6, g.tokenIds().length);
        assertEquals("length", g.finishReason());
    }
}
