package org.align4j.core.kernels;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The product of a few rows (batched decoding, 2 to 16 rows) with a weight read once for all of
 * them: register-blocked with the Java Vector API, four rows at a time against a strip of the
 * weight held in sixteen vector accumulators, so that each weight element loaded from memory feeds
 * four fused multiply-adds, and the strip, re-read from cache by the next four rows, comes from
 * memory once. OpenBLAS's sgemm packs the whole weight on every call and its sgemv reads the weight
 * once per row (from cache after the first, but at a third of one core's SGEMM rate).
 *
 * <p>Both layouts: {@code [in, out]} (GPT-2's Conv1D: a strip is 4 vectors of output columns, the
 * rows broadcast an input element each) and {@code [out, in]} (Linear: a strip is 4 output rows,
 * dot products over the input, reduced at the end). Inputs and outputs are heap arrays of the rows
 * padded to a multiple of 4 (the padding rows zero); the weight is ND4J's off-heap buffer as a
 * little-endian {@link ByteBuffer}. Each call computes a range of strips, so the caller splits the
 * output over threads and every output element is one thread's sum in one order: deterministic.
 *
 * <p>Loaded only when the JVM resolved {@code jdk.incubator.vector} ({@code --add-modules}); see
 * {@link #AVAILABLE}.
 */
final class VectorFewRows {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /** Floats per vector. */
    static final int V = S.length();
    /** Output columns of a Conv1D strip: four vectors. */
    static final int STRIP = 4 * V;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private VectorFewRows() {
    }

    /** Conv1D strips in {@code [from, to)}: columns {@code [s * STRIP, (s + 1) * STRIP)}; the last may be short. */
    static int conv1dStrips(int oc) {
        return (oc + STRIP - 1) / STRIP;
    }

    /**
     * {@code out[i, j] += Σ_k x[i, k] w[k, j]} for the columns of strips {@code [from, to)}, {@code w} an
     * {@code [c, oc]} weight; {@code x [rows, c]} and {@code out [rows, oc]} with {@code rows} a multiple of 4.
     */
    static void conv1d(ByteBuffer w, int c, int oc, float[] x, int rows, float[] out, int from, int to) {
        // input rows by blocks of K_BLOCK: a strip then reads K_BLOCK short runs of the weight, which the
        // next strip continues (few streams, pages already mapped); the rows' partial sums wait in out
        for (int k0 = 0; k0 < c; k0 += K_BLOCK) {
            int k1 = Math.min(c, k0 + K_BLOCK);
            for (int s = from; s < to; s++) {
                int j = s * STRIP;
                if (j + STRIP <= oc) {
                    for (int i = 0; i < rows; i += 4) {
                        conv1dStrip(w, c, oc, k0, k1, x, i, j, out);
                    }
                } else {
                    conv1dTail(w, c, oc, k0, k1, x, rows, j, out);
                }
            }
        }
    }

    /** Input rows per block of a Conv1D product (8, 16 and 32 measured alike, 16 a little ahead). */
    static final int K_BLOCK = 16;

    /** Four rows from {@code i} times the {@code STRIP} columns from {@code j}: sixteen accumulators. */
    private static void conv1dStrip(ByteBuffer w, int c, int oc, int k0, int k1, float[] x, int i, int j,
                                    float[] out) {
        FloatVector a00 = FloatVector.zero(S), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        int x0 = i * c;
        int x1 = x0 + c;
        int x2 = x1 + c;
        int x3 = x2 + c;
        int step = 4 * oc;
        int at = 4 * (k0 * oc + j);
        for (int k = k0; k < k1; k++, at += step) {
            FloatVector w0 = FloatVector.fromByteBuffer(S, w, at, LE);
            FloatVector w1 = FloatVector.fromByteBuffer(S, w, at + 4 * V, LE);
            FloatVector w2 = FloatVector.fromByteBuffer(S, w, at + 8 * V, LE);
            FloatVector w3 = FloatVector.fromByteBuffer(S, w, at + 12 * V, LE);
            FloatVector b = FloatVector.broadcast(S, x[x0 + k]);
            a00 = w0.fma(b, a00);
            a01 = w1.fma(b, a01);
            a02 = w2.fma(b, a02);
            a03 = w3.fma(b, a03);
            b = FloatVector.broadcast(S, x[x1 + k]);
            a10 = w0.fma(b, a10);
            a11 = w1.fma(b, a11);
            a12 = w2.fma(b, a12);
            a13 = w3.fma(b, a13);
            b = FloatVector.broadcast(S, x[x2 + k]);
            a20 = w0.fma(b, a20);
            a21 = w1.fma(b, a21);
            a22 = w2.fma(b, a22);
            a23 = w3.fma(b, a23);
            b = FloatVector.broadcast(S, x[x3 + k]);
            a30 = w0.fma(b, a30);
            a31 = w1.fma(b, a31);
            a32 = w2.fma(b, a32);
            a33 = w3.fma(b, a33);
        }
        // written out here rather than in a helper: a vector passed to a method the JIT does not inline is boxed
        int o = i * oc + j;
        FloatVector.fromArray(S, out, o).add(a00).intoArray(out, o);
        FloatVector.fromArray(S, out, o + V).add(a01).intoArray(out, o + V);
        FloatVector.fromArray(S, out, o + 2 * V).add(a02).intoArray(out, o + 2 * V);
        FloatVector.fromArray(S, out, o + 3 * V).add(a03).intoArray(out, o + 3 * V);
        o += oc;
        FloatVector.fromArray(S, out, o).add(a10).intoArray(out, o);
        FloatVector.fromArray(S, out, o + V).add(a11).intoArray(out, o + V);
        FloatVector.fromArray(S, out, o + 2 * V).add(a12).intoArray(out, o + 2 * V);
        FloatVector.fromArray(S, out, o + 3 * V).add(a13).intoArray(out, o + 3 * V);
        o += oc;
        FloatVector.fromArray(S, out, o).add(a20).intoArray(out, o);
        FloatVector.fromArray(S, out, o + V).add(a21).intoArray(out, o + V);
        FloatVector.fromArray(S, out, o + 2 * V).add(a22).intoArray(out, o + 2 * V);
        FloatVector.fromArray(S, out, o + 3 * V).add(a23).intoArray(out, o + 3 * V);
        o += oc;
        FloatVector.fromArray(S, out, o).add(a30).intoArray(out, o);
        FloatVector.fromArray(S, out, o + V).add(a31).intoArray(out, o + V);
        FloatVector.fromArray(S, out, o + 2 * V).add(a32).intoArray(out, o + 2 * V);
        FloatVector.fromArray(S, out, o + 3 * V).add(a33).intoArray(out, o + 3 * V);
    }

    /** The last, short strip: whole vectors one at a time, then single columns. */
    private static void conv1dTail(ByteBuffer w, int c, int oc, int k0, int k1, float[] x, int rows, int j,
                                   float[] out) {
        int whole = j + (oc - j) / V * V;
        for (; j < whole; j += V) {
            for (int i = 0; i < rows; i++) {
                FloatVector a = FloatVector.zero(S);
                int xi = i * c;
                for (int k = k0; k < k1; k++) {
                    a = FloatVector.fromByteBuffer(S, w, 4 * (k * oc + j), LE).fma(FloatVector.broadcast(S, x[xi + k]), a);
                }
                int o = i * oc + j;
                FloatVector.fromArray(S, out, o).add(a).intoArray(out, o);
            }
        }
        for (; j < oc; j++) {
            for (int i = 0; i < rows; i++) {
                float a = 0f;
                int xi = i * c;
                for (int k = k0; k < k1; k++) {
                    a += x[xi + k] * w.getFloat(4 * (k * oc + j));
                }
                out[i * oc + j] += a;
            }
        }
    }

    /** Linear blocks in {@code [from, to)}: output rows {@code [4 b, 4 b + 4)}; the last may be short. */
    static int linearBlocks(int oc) {
        return (oc + 3) / 4;
    }

    /**
     * {@code out[i, j] += Σ_k x[i, k] w[j, k]} for the output columns of blocks {@code [from, to)},
     * {@code w} an {@code [oc, c]} weight; {@code x [rows, c]} and {@code out [rows, oc]} with
     * {@code rows} a multiple of 4.
     */
    static void linear(ByteBuffer w, int c, int oc, float[] x, int rows, float[] out, int from, int to) {
        int whole = c / V * V;
        for (int bl = from; bl < to; bl++) {
            int j = 4 * bl;
            if (j + 4 <= oc) {
                for (int i = 0; i < rows; i += 4) {
                    linearBlock(w, c, oc, whole, x, i, j, out);
                }
            } else {
                for (; j < oc; j++) {
                    for (int i = 0; i < rows; i++) {
                        out[i * oc + j] += dot(w, 4 * j * c, x, i * c, c, whole);
                    }
                }
            }
        }
    }

    /** Four rows from {@code i} times weight rows {@code j .. j+3}: sixteen dot products at once. */
    private static void linearBlock(ByteBuffer w, int c, int oc, int whole, float[] x, int i, int j, float[] out) {
        FloatVector a00 = FloatVector.zero(S), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        int w0 = 4 * j * c;
        int w1 = w0 + 4 * c;
        int w2 = w1 + 4 * c;
        int w3 = w2 + 4 * c;
        int x0 = i * c;
        int x1 = x0 + c;
        int x2 = x1 + c;
        int x3 = x2 + c;
        for (int k = 0; k < whole; k += V) {
            FloatVector v0 = FloatVector.fromByteBuffer(S, w, w0 + 4 * k, LE);
            FloatVector v1 = FloatVector.fromByteBuffer(S, w, w1 + 4 * k, LE);
            FloatVector v2 = FloatVector.fromByteBuffer(S, w, w2 + 4 * k, LE);
            FloatVector v3 = FloatVector.fromByteBuffer(S, w, w3 + 4 * k, LE);
            FloatVector r = FloatVector.fromArray(S, x, x0 + k);
            a00 = v0.fma(r, a00);
            a01 = v1.fma(r, a01);
            a02 = v2.fma(r, a02);
            a03 = v3.fma(r, a03);
            r = FloatVector.fromArray(S, x, x1 + k);
            a10 = v0.fma(r, a10);
            a11 = v1.fma(r, a11);
            a12 = v2.fma(r, a12);
            a13 = v3.fma(r, a13);
            r = FloatVector.fromArray(S, x, x2 + k);
            a20 = v0.fma(r, a20);
            a21 = v1.fma(r, a21);
            a22 = v2.fma(r, a22);
            a23 = v3.fma(r, a23);
            r = FloatVector.fromArray(S, x, x3 + k);
            a30 = v0.fma(r, a30);
            a31 = v1.fma(r, a31);
            a32 = v2.fma(r, a32);
            a33 = v3.fma(r, a33);
        }
        // lanes reduced here: a vector passed to a method the JIT does not inline is boxed
        store(out, i * oc + j, c, whole, w, w0, w1, w2, w3, x, x0, a00.reduceLanes(VectorOperators.ADD),
                a01.reduceLanes(VectorOperators.ADD), a02.reduceLanes(VectorOperators.ADD),
                a03.reduceLanes(VectorOperators.ADD));
        store(out, (i + 1) * oc + j, c, whole, w, w0, w1, w2, w3, x, x1, a10.reduceLanes(VectorOperators.ADD),
                a11.reduceLanes(VectorOperators.ADD), a12.reduceLanes(VectorOperators.ADD),
                a13.reduceLanes(VectorOperators.ADD));
        store(out, (i + 2) * oc + j, c, whole, w, w0, w1, w2, w3, x, x2, a20.reduceLanes(VectorOperators.ADD),
                a21.reduceLanes(VectorOperators.ADD), a22.reduceLanes(VectorOperators.ADD),
                a23.reduceLanes(VectorOperators.ADD));
        store(out, (i + 3) * oc + j, c, whole, w, w0, w1, w2, w3, x, x3, a30.reduceLanes(VectorOperators.ADD),
                a31.reduceLanes(VectorOperators.ADD), a32.reduceLanes(VectorOperators.ADD),
                a33.reduceLanes(VectorOperators.ADD));
    }

    /** One row's four sums: the input's columns past the last whole vector added one by one. */
    private static void store(float[] out, int o, int c, int whole, ByteBuffer w, int w0, int w1, int w2, int w3,
                              float[] x, int xi, float s0, float s1, float s2, float s3) {
        for (int k = whole; k < c; k++) {
            float xv = x[xi + k];
            s0 += xv * w.getFloat(w0 + 4 * k);
            s1 += xv * w.getFloat(w1 + 4 * k);
            s2 += xv * w.getFloat(w2 + 4 * k);
            s3 += xv * w.getFloat(w3 + 4 * k);
        }
        out[o] += s0;
        out[o + 1] += s1;
        out[o + 2] += s2;
        out[o + 3] += s3;
    }

    /** One row of a Linear weight (from byte {@code wAt}) times one input row. */
    private static float dot(ByteBuffer w, int wAt, float[] x, int xi, int c, int whole) {
        FloatVector a = FloatVector.zero(S);
        for (int k = 0; k < whole; k += V) {
            a = FloatVector.fromByteBuffer(S, w, wAt + 4 * k, LE).fma(FloatVector.fromArray(S, x, xi + k), a);
        }
        float s = a.reduceLanes(VectorOperators.ADD);
        for (int k = whole; k < c; k++) {
            s += x[xi + k] * w.getFloat(wAt + 4 * k);
        }
        return s;
    }
}
