package org.align4j.core.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

import org.align4j.core.kernels.CpuKernels;
import org.align4j.core.kernels.GenericKernels;
import org.align4j.core.model.Architecture;
import org.align4j.core.model.DecoderModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Sampling is seeded per record: a record draws the same tokens whichever batch it is generated in. */
class RecordSeedTest {

    private static final CpuKernels KERNELS = new CpuKernels(new GenericKernels(), 2);

    @AfterAll
    static void close() {
        KERNELS.close();
    }

    @Test
    void recordGeneratorIsTheJdksNthSplitOfTheSeed() {
        // oracle: the JDK's own split sequence, which rows 0..b-1 of a batch have always used
        for (long seed : new long[] {0, 42, -7, Long.MAX_VALUE}) {
            SplittableRandom root = new SplittableRandom(seed);
            for (int r = 0; r < 50; r++) {
                SplittableRandom expected = root.split();
                SplittableRandom actual = Generator.recordRandom(seed, r);
                for (int k = 0; k < 3; k++) {
                    assertEquals(expected.nextLong(), actual.nextLong(), "seed " + seed + " record " + r);
                }
            }
        }
    }

    @Test
    void aRecordDrawsTheSameTokensInAnyBatch() {
        Architecture.Shape shape = new Architecture.Shape(64, 32, 32, 2, 2, 2, 64, true, 10000.0);
        DecoderModel m = Architecture.GPT2.randomModel(Architecture.GPT2.config(shape, shape.vocab() - 1), KERNELS, 5);
        SamplingConfig cfg = new SamplingConfig(12, 1.0, 0, 1.0, 9, 0, Set.of(), List.of());
        List<int[]> prompts = List.of(new int[] {1, 2, 3}, new int[] {4, 5, 6}, new int[] {7, 8, 9});
        List<Generation> all = new Generator(m).generate(prompts, cfg, null, 0);
        // records 1 and 2 as a batch of their own, and record 2 alone, given their record indices
        List<Generation> tail = new Generator(m).generate(prompts.subList(1, 3), cfg, null, 1);
        Generation last = new Generator(m).generate(prompts.subList(2, 3), cfg, null, 2).get(0);
        assertArrayEquals(all.get(1).tokenIds(), tail.get(0).tokenIds());
        assertArrayEquals(all.get(2).tokenIds(), tail.get(1).tokenIds());
        assertArrayEquals(all.get(2).tokenIds(), last.tokenIds());
        // the batch-position scheme (record 2 alone as row 0) draws other tokens: the property is not vacuous
        Generation asRowZero = new Generator(m).generate(prompts.subList(2, 3), cfg, null, 0).get(0);
        assertFalse(Arrays.equals(all.get(2).tokenIds(), asRowZero.tokenIds()));
    }
}
