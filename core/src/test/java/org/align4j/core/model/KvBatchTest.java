package org.align4j.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import org.align4j.core.kernels.CpuKernels;
import org.align4j.core.kernels.GenericKernels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Rows joining, leaving and being moved by rebuilds against the oracle of each sequence decoded in
 * its own one-row cache: every step's logits row equals the alone row, bitwise while the batch is
 * under 4 rows, to rounding from 4 rows, where the Vector API's few-row kernel sums in another order
 * (see ContinuousDecoderTest for the batch sizes where bitwise holds).
 */
class KvBatchTest {

    private static final CpuKernels KERNELS = new CpuKernels(new GenericKernels(), 2);

    @AfterAll
    static void close() {
        KERNELS.close();
    }

    /** One sequence fed fixed tokens: its own cache (the oracle) and its row in the batch. */
    static final class Seq {
        final int[] prompt;
        final KvCache alone;
        KvBatch.Row row;
        int fed;
        /** Whether a step of the batch has run with 4 rows or more since the sequence joined. */
        boolean wide;

        Seq(DecoderModel m, int[] prompt) {
            this.prompt = prompt;
            this.alone = m.newCache(1, m.config().contextLength());
        }

        int token() {
            return (prompt[0] * 7 + fed * 13) % 250;
        }

        int position() {
            return prompt.length + fed;
        }
    }

    static KvCache prefill(DecoderModel m, int[] prompt) {
        KvCache c = m.newCache(1, prompt.length);
        float[] ones = new float[prompt.length];
        Arrays.fill(ones, 1f);
        c.setMasks(ones, prompt.length);
        m.forwardCached(c, prompt, IntStream.range(0, prompt.length).toArray(), prompt.length);
        return c;
    }

    @Test
    void rowsGiveTheLogitsOfTheirSequenceAloneThroughJoinsLeavesAndRebuilds() {
        Architecture.Shape shape = new Architecture.Shape(256, 128, 64, 2, 4, 4, 256, true, 10000.0);
        DecoderModel m = Architecture.GPT2.randomModel(Architecture.GPT2.config(shape, 255), KERNELS, 1);
        KvBatch batch = new KvBatch(m, 4);
        List<Seq> running = new ArrayList<>();
        Map<Seq, Integer> stepsLeft = new HashMap<>();
        // prompts joining at steps 0, 0, 3, 5, 9, 20: shorter and longer than the batch's length; lives of
        // 8 to 70 steps, so that rows leave, the batch shrinks and runs out of slots
        int[][] joins = {{0, 4, 30}, {0, 9, 8}, {3, 20, 70}, {5, 2, 40}, {9, 35, 10}, {20, 3, 50}};
        int v = m.config().vocabSize();
        float[] got = new float[4 * v];
        float[] want = new float[v];
        int checked = 0;
        int exact = 0;
        for (int step = 0; step < 90; step++) {
            for (int[] j : joins) {
                if (j[0] == step) {
                    int[] p = IntStream.range(0, j[1]).map(t -> (t * 31 + j[1]) % 250).toArray();
                    Seq s = new Seq(m, p);
                    float[] ones = new float[p.length];
                    Arrays.fill(ones, 1f);
                    s.alone.setMasks(ones, p.length);
                    m.forwardCached(s.alone, p, IntStream.range(0, p.length).toArray(), p.length);
                    s.row = batch.join(prefill(m, p));
                    running.add(s);
                    stepsLeft.put(s, j[2]);
                }
            }
            if (running.isEmpty()) {
                continue;
            }
            INDArray logits = batch.step(r -> find(running, r).token(), r -> find(running, r).position());
            KERNELS.download(logits, got);
            // from 4 rows GPT-2's few-row products take the Vector API's kernel, which sums in another order
            // than one row's sgemv: a sequence that took such a step (its cached keys included) gets the
            // same logits to rounding; one that never did, bitwise
            boolean wide = batch.width() >= 4;
            for (Seq s : new ArrayList<>(running)) {
                int row = s.row.index();
                s.wide |= wide;
                float tolerance = s.wide ? 1e-5f : 0f;
                s.alone.setMasks(new float[] {1f}, 1);
                INDArray a = m.forwardCached(s.alone, new int[] {s.token()}, new int[] {s.position()}, 1);
                KERNELS.download(a, want);
                assertArrayEquals(want, Arrays.copyOfRange(got, row * v, row * v + v), tolerance,
                        "step " + step + " sequence of " + s.prompt.length + ", " + batch.width() + " rows");
                checked++;
                exact += tolerance == 0f ? 1 : 0;
                s.fed++;
                if (stepsLeft.merge(s, -1, Integer::sum) == 0) {
                    batch.leave(s.row);
                    running.remove(s);
                }
            }
        }
        assertEquals(0, batch.active());
        assertEquals(208, checked);
        assertTrue(exact > 0 && exact < checked, "both narrow (bitwise) and wide steps were checked: " + exact);
        assertTrue(batch.rebuilds() >= 4, "rebuilds: " + batch.rebuilds());
    }

    @Test
    void aFullBatchRefusesAJoiner() {
        Architecture.Shape shape = new Architecture.Shape(256, 32, 64, 1, 4, 4, 256, true, 10000.0);
        DecoderModel m = Architecture.GPT2.randomModel(Architecture.GPT2.config(shape, 255), KERNELS, 2);
        KvBatch batch = new KvBatch(m, 1);
        batch.join(prefill(m, new int[] {1, 2}));
        assertThrows(IllegalStateException.class, () -> batch.join(prefill(m, new int[] {3})));
    }

    private static Seq find(List<Seq> running, KvBatch.Row r) {
        for (Seq s : running) {
            if (s.row == r) {
                return s;
            }
        }
        throw new AssertionError("row without a sequence");
    }
}
