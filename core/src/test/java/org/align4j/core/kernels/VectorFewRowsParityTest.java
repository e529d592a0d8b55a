package org.align4j.core.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.SplittableRandom;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The Vector API's few-row product against the generic kernels, in both weight layouts, for 1 to 16
 * rows (padded to a multiple of 4 inside), on shapes made from this machine's vector width so that
 * every branch runs: one strip / one block of input rows, several, a short last strip of whole
 * vectors and single columns, input widths that are no multiple of the vector width, and the
 * output split between two callers as the threads split it; then through {@link CpuKernels}
 * (bias, a stale output, a weight that is a view at an offset).
 */
class VectorFewRowsParityTest {

    private static final Kernels generic = new GenericKernels();
    private static final CpuKernels fast = new CpuKernels(generic, 2, true);
    private final SplittableRandom rng = new SplittableRandom(11);

    @AfterAll
    static void close() {
        fast.close();
    }

    private INDArray rand(long... shape) {
        INDArray a = Nd4j.create(DataType.FLOAT, shape);
        for (long i = 0; i < a.length(); i++) {
            a.putScalar(i, rng.nextGaussian());
        }
        return a;
    }

    private INDArray randView(long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return rand(n + 5).get(NDArrayIndex.interval(5, 5 + n)).reshape(shape);
    }

    /** {in, out} pairs: tiny and ragged; one strip and one input block exactly; several of each with both tails. */
    private static int[][] shapes() {
        int v = VectorFewRows.V;
        int strip = VectorFewRows.STRIP;
        int kb = VectorFewRows.K_BLOCK;
        return new int[][] {{7, 5}, {v, strip}, {kb, 4}, {3 * kb + 5, 2 * strip + 2 * v + 3}, {2 * v + 1, 9},
            {kb + 1, strip - 1}};
    }

    private static void close(String what, INDArray expected, INDArray actual) {
        assertEquals(expected.length(), actual.length(), what);
        double scale = Math.max(1e-3, expected.amaxNumber().doubleValue());
        double diff = expected.sub(actual).amaxNumber().doubleValue();
        assertTrue(diff <= 1e-5 * scale, what + ": max |diff| " + diff + " (scale " + scale + ")");
    }

    @Test
    void theKernelEqualsTheGenericProductForOneToSixteenRowsInBothLayouts() {
        assertTrue(VectorSupport.available(), "the tests' JVM resolves jdk.incubator.vector (surefire's argLine)");
        for (int[] s : shapes()) {
            int c = s[0];
            int oc = s[1];
            for (boolean linear : new boolean[] {false, true}) {
                INDArray w = linear ? rand(oc, c) : rand(c, oc);
                ByteBuffer wb = Mem.bytes(w);
                for (int n = 1; n <= 16; n++) {
                    INDArray x = rand(n, c);
                    INDArray want = Nd4j.create(DataType.FLOAT, n, oc);
                    generic.matmulForward(want, x, w, linear, null);
                    int rows = (n + 3) & ~3;
                    float[] xh = new float[rows * c];
                    System.arraycopy(x.dup().data().asFloat(), 0, xh, 0, n * c);
                    float[] start = new float[rows * oc];
                    for (int i = 0; i < start.length; i++) {
                        start[i] = (float) rng.nextGaussian();
                    }
                    float[] out = start.clone();
                    // two callers over halves of the strips or blocks, as two threads split them
                    int parts = linear ? VectorFewRows.linearBlocks(oc) : VectorFewRows.conv1dStrips(oc);
                    int half = parts / 2;
                    if (linear) {
                        VectorFewRows.linear(wb, c, oc, xh, rows, out, 0, half);
                        VectorFewRows.linear(wb, c, oc, xh, rows, out, half, parts);
                    } else {
                        VectorFewRows.conv1d(wb, c, oc, xh, rows, out, 0, half);
                        VectorFewRows.conv1d(wb, c, oc, xh, rows, out, half, parts);
                    }
                    float[] added = new float[n * oc];
                    for (int i = 0; i < added.length; i++) {
                        added[i] = out[i] - start[i];
                    }
                    String what = (linear ? "Linear" : "Conv1D") + " [" + c + ", " + oc + "] x " + n + " rows";
                    close(what, want, Nd4j.create(added, new long[] {n, oc}));
                    for (int i = n * oc; i < rows * oc; i++) {
                        assertEquals(start[i], out[i], 1e-6, what + ": zero padding rows add nothing");
                    }
                }
            }
        }
    }

    @Test
    void theCpuKernelsFewRowPathWithBiasAndViewsEqualsTheGenericKernels() {
        int[][] shapes = {{37, 2 * VectorFewRows.STRIP + 3}, {768, 2304}, {576, 1536}};
        for (int[] s : shapes) {
            int c = s[0];
            int oc = s[1];
            for (boolean linear : new boolean[] {false, true}) {
                INDArray w = linear ? randView(oc, c) : randView(c, oc);
                for (int n = 2; n <= 16; n += 1) {
                    INDArray bias = n % 2 == 0 ? randView(oc) : null;
                    INDArray x = rand(n, c);
                    INDArray want = Nd4j.create(DataType.FLOAT, n, oc);
                    INDArray got = rand(n, oc); // stale values must be overwritten
                    generic.matmulForward(want, x, w, linear, bias);
                    fast.matmulForward(got, x, w, linear, bias);
                    close((linear ? "Linear" : "Conv1D") + " [" + c + ", " + oc + "] x " + n + " rows, bias "
                            + (bias != null), want, got);
                }
            }
        }
    }
}
