package org.align4j.core.kernels;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.Arrays;

import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * CPU fast path: every GEMM through OpenBLAS's {@code cblas_sgemm} on ND4J's buffers, every
 * elementwise and row-wise step as one fused Java loop over the off-heap memory, split over
 * the cores. ND4J ops cost 13-20 us each and its softmax is 12x slower than PyTorch's
 * (ARCHITECTURE.md), so the fast path issues none on the training step.
 *
 * <p>FLOAT only: any other data type goes to the generic kernels. Each method is held to
 * {@link GenericKernels} by a parity test.
 */
public final class CpuKernels implements Kernels, AutoCloseable {

    private static final int ROWS_PER_THREAD = 16;
    /** Up to this many rows a product streams weight chunks through sgemv (at 16 sgemm is faster). */
    private static final int FEW_ROWS = 8;
    /** Bytes of weight per chunk: small enough to stay in cache while every row reads it (2-8 MB measured alike). */
    private static final int CHUNK_BYTES = 2 * 1024 * 1024;
    private static final int BLOCK = 4096;

    /**
     * Rows from which to which a product takes the Vector API's register-blocked path ({@link
     * VectorFewRows}) where it measured faster than chunked sgemv and sgemm (single-threaded, thread
     * CPU time, weights read from memory; tools/bench/few_rows_probe.sh 2,4,8,16 kernels): Conv1D
     * {@code [in, out]} weights from 4 rows (1.1-1.9x; at 2 rows, padded to 4, 0.7-0.9x), Linear
     * {@code [out, in]} weights from 8 (1.05-1.6x at 8, 0.98-1.25x at 16 against sgemm, 0.9-1.3x at 4).
     */
    private static final int VECTOR_MIN_ROWS_CONV1D = 4;
    private static final int VECTOR_MIN_ROWS_LINEAR = 8;
    private static final int VECTOR_MAX_ROWS = 16;

    private final Kernels generic;
    private final Parallel parallel;
    /** Few-row products through {@link VectorFewRows} rather than chunked sgemv. */
    private final boolean vectorFewRows;
    /** The few rows' inputs and outputs on the heap, padded to a multiple of 4 rows; grow, then stay. */
    private float[] fewIn = new float[0];
    private float[] fewOut = new float[0];
    /** Attention scratch (dP in backward, scores while decoding); grows to the largest use, then stays. */
    private INDArray scratch;

    public CpuKernels(Kernels generic, int threads) {
        this(generic, threads, VectorSupport.enabled());
    }

    /** With {@code vectorFewRows}, few-row products take the Vector API's path (it must be available). */
    CpuKernels(Kernels generic, int threads, boolean vectorFewRows) {
        if (vectorFewRows && !VectorSupport.available()) {
            throw new IllegalStateException("the JVM lacks jdk.incubator.vector (--add-modules)");
        }
        this.generic = generic;
        this.parallel = new Parallel(threads);
        this.vectorFewRows = vectorFewRows;
    }

    @Override
    public String name() {
        return "cpu";
    }

    private static boolean fp32(INDArray... arrays) {
        for (INDArray a : arrays) {
            if (a != null && a.dataType() != DataType.FLOAT) {
                return false;
            }
        }
        return true;
    }

    private FloatPointer scratch(long length) {
        if (scratch == null || scratch.length() < length) {
            scratch = Nd4j.createUninitialized(DataType.FLOAT, length);
        }
        return Mem.pointer(scratch);
    }

    private FloatBuffer scratchFloats(long length) {
        scratch(length);
        return Mem.floats(scratch);
    }

    @Override
    public void upload(INDArray target, float[] values) {
        if (!fp32(target)) {
            generic.upload(target, values);
            return;
        }
        Mem.floats(target).put(0, values);
    }

    @Override
    public void download(INDArray src, float[] dst) {
        if (!fp32(src)) {
            generic.download(src, dst);
            return;
        }
        Mem.floats(src).get(0, dst, 0, (int) src.length());
    }

    // ---------------------------------------------------------------- embedding

    @Override
    public void embeddingForward(INDArray out, int[] tokens, int[] positions, INDArray wte, INDArray wpe) {
        if (!fp32(out, wte, wpe)) {
            generic.embeddingForward(out, tokens, positions, wte, wpe);
            return;
        }
        int c = (int) out.columns();
        FloatBuffer o = Mem.floats(out);
        FloatBuffer te = Mem.floats(wte);
        FloatBuffer pe = wpe == null ? null : Mem.floats(wpe);
        parallel.forRange(tokens.length, ROWS_PER_THREAD, (from, to) -> {
            float[] a = new float[c];
            float[] b = new float[c];
            for (int i = from; i < to; i++) {
                te.get(tokens[i] * c, a);
                if (pe != null) {
                    pe.get(positions[i] * c, b);
                    for (int j = 0; j < c; j++) {
                        a[j] += b[j];
                    }
                }
                o.put(i * c, a);
            }
        });
    }

    @Override
    public void embeddingBackward(INDArray dwte, INDArray dwpe, INDArray dout, int[] tokens, int[] positions) {
        if (!fp32(dwte, dwpe, dout)) {
            generic.embeddingBackward(dwte, dwpe, dout, tokens, positions);
            return;
        }
        int c = (int) dout.columns();
        FloatBuffer d = Mem.floats(dout);
        FloatBuffer te = dwte == null ? null : Mem.floats(dwte);
        FloatBuffer pe = dwpe == null ? null : Mem.floats(dwpe);
        float[] g = new float[c];
        float[] acc = new float[c];
        // serial: repeated tokens write the same rows
        for (int i = 0; i < tokens.length; i++) {
            d.get(i * c, g);
            if (te != null) {
                addRow(te, tokens[i] * c, g, acc);
            }
            if (pe != null) {
                addRow(pe, positions[i] * c, g, acc);
            }
        }
    }

    private static void addRow(FloatBuffer target, int offset, float[] g, float[] tmp) {
        target.get(offset, tmp);
        for (int j = 0; j < g.length; j++) {
            tmp[j] += g[j];
        }
        target.put(offset, tmp);
    }

    // ---------------------------------------------------------------- matmul

    @Override
    public void matmulForward(INDArray out, INDArray inp, INDArray w, boolean transposedWeight, INDArray bias) {
        if (!fp32(out, inp, w, bias)) {
            generic.matmulForward(out, inp, w, transposedWeight, bias);
            return;
        }
        int n = (int) inp.rows();
        int c = (int) inp.columns();
        int oc = (int) out.columns();
        float beta = 0f;
        if (bias != null) {
            FloatBuffer o = Mem.floats(out);
            float[] b = new float[oc];
            Mem.floats(bias).get(0, b);
            parallel.forRange(n, ROWS_PER_THREAD, (from, to) -> {
                for (int i = from; i < to; i++) {
                    o.put(i * oc, b);
                }
            });
            beta = 1f;
        }
        if (n == 1) {
            // one row (decoding at batch 1): a matrix-vector product, bound by reading the weights
            Blas.sgemv(!transposedWeight, transposedWeight ? oc : c, transposedWeight ? c : oc, 1f, Mem.pointer(w), 0,
                    transposedWeight ? c : oc, Mem.pointer(inp), 0, beta, Mem.pointer(out), 0);
            return;
        }
        if (vectorFewRows && n <= VECTOR_MAX_ROWS
                && n >= (transposedWeight ? VECTOR_MIN_ROWS_LINEAR : VECTOR_MIN_ROWS_CONV1D)
                && 4L * w.length() <= Integer.MAX_VALUE) {
            vectorFewRows(out, inp, w, transposedWeight, beta, n, c, oc);
            return;
        }
        if (n <= FEW_ROWS) {
            fewRows(out, inp, w, transposedWeight, beta, n, c, oc);
            return;
        }
        Blas.sgemm(false, transposedWeight, n, oc, c, 1f, Mem.pointer(inp), 0, c,
                Mem.pointer(w), 0, transposedWeight ? c : oc, beta, Mem.pointer(out), 0, oc);
    }

    /**
     * A few rows (batched decoding): sgemm would pack the whole weight on every call (0.4-0.6 ms for
     * 1536 x 576 whatever the rows); instead the weight goes by chunks of about {@link #CHUNK_BYTES},
     * each read from memory by one row's sgemv and from cache by the others. An {@code [out, in]}
     * weight (Linear) is chunked by output rows, each chunk giving a slice of every output row; an
     * {@code [in, out]} weight (GPT-2's Conv1D) by input rows, each chunk adding its share to every
     * output row ({@code beta} 1 after the first chunk).
     */
    private static void fewRows(INDArray out, INDArray inp, INDArray w, boolean transposedWeight, float beta, int n,
                                int c, int oc) {
        FloatPointer pw = Mem.pointer(w);
        FloatPointer px = Mem.pointer(inp);
        FloatPointer po = Mem.pointer(out);
        if (transposedWeight) {
            int chunk = Math.max(16, CHUNK_BYTES / (4 * c));
            for (int r0 = 0; r0 < oc; r0 += chunk) {
                int rows = Math.min(chunk, oc - r0);
                for (int i = 0; i < n; i++) {
                    Blas.sgemv(false, rows, c, 1f, pw, (long) r0 * c, c, px, (long) i * c, beta, po,
                            (long) i * oc + r0);
                }
            }
            return;
        }
        int chunk = Math.max(16, CHUNK_BYTES / (4 * oc));
        for (int k0 = 0; k0 < c; k0 += chunk) {
            int rows = Math.min(chunk, c - k0);
            float b = k0 == 0 ? beta : 1f;
            for (int i = 0; i < n; i++) {
                Blas.sgemv(true, rows, oc, 1f, pw, (long) k0 * oc, oc, px, (long) i * c + k0, b, po, (long) i * oc);
            }
        }
    }

    /**
     * A few rows through {@link VectorFewRows}: the rows copied to the heap (padded with zero rows to
     * a multiple of 4), the weight's strips split over the threads, the result copied back. {@code
     * beta} 1: the output already holds the bias, and the product adds to it.
     */
    private void vectorFewRows(INDArray out, INDArray inp, INDArray w, boolean transposedWeight, float beta, int n,
                               int c, int oc) {
        int rows = (n + 3) & ~3;
        if (fewIn.length < rows * c) {
            fewIn = new float[rows * c];
        }
        if (fewOut.length < rows * oc) {
            fewOut = new float[rows * oc];
        }
        float[] x = fewIn;
        float[] y = fewOut;
        Mem.floats(inp).get(0, x, 0, n * c);
        Arrays.fill(x, n * c, rows * c, 0f);
        if (beta != 0f) {
            Mem.floats(out).get(0, y, 0, n * oc);
        } else {
            Arrays.fill(y, 0, n * oc, 0f);
        }
        Arrays.fill(y, n * oc, rows * oc, 0f);
        ByteBuffer wb = Mem.bytes(w);
        if (transposedWeight) {
            parallel.forRange(VectorFewRows.linearBlocks(oc), 8,
                    (from, to) -> VectorFewRows.linear(wb, c, oc, x, rows, y, from, to));
        } else {
            parallel.forRange(VectorFewRows.conv1dStrips(oc), 2,
                    (from, to) -> VectorFewRows.conv1d(wb, c, oc, x, rows, y, from, to));
        }
        Mem.floats(out).put(0, y, 0, n * oc);
    }

    @Override
    public void matmulBackward(INDArray dinp, INDArray dw, INDArray db, INDArray dout, INDArray inp, INDArray w,
                               boolean transposedWeight) {
        if (!fp32(dinp, dw, db, dout, inp, w)) {
            generic.matmulBackward(dinp, dw, db, dout, inp, w, transposedWeight);
            return;
        }
        int n = (int) inp.rows();
        int c = (int) inp.columns();
        int oc = (int) dout.columns();
        FloatPointer pd = Mem.pointer(dout);
        if (dinp != null) {
            Blas.sgemm(false, !transposedWeight, n, c, oc, 1f, pd, 0, oc, Mem.pointer(w), 0,
                    transposedWeight ? c : oc, 0f, Mem.pointer(dinp), 0, c);
        }
        if (dw != null && transposedWeight) {
            Blas.sgemm(true, false, oc, c, n, 1f, pd, 0, oc, Mem.pointer(inp), 0, c, 1f, Mem.pointer(dw), 0, c);
        } else if (dw != null) {
            Blas.sgemm(true, false, c, oc, n, 1f, Mem.pointer(inp), 0, c, pd, 0, oc, 1f, Mem.pointer(dw), 0, oc);
        }
        if (db != null) {
            FloatBuffer d = Mem.floats(dout);
            FloatBuffer bias = Mem.floats(db);
            // columns split over threads; each thread sums its columns over all rows
            parallel.forRange(oc, 64, (from, to) -> {
                int len = to - from;
                float[] row = new float[len];
                float[] sum = new float[len];
                for (int i = 0; i < n; i++) {
                    d.get(i * oc + from, row, 0, len);
                    for (int j = 0; j < len; j++) {
                        sum[j] += row[j];
                    }
                }
                float[] cur = new float[len];
                bias.get(from, cur, 0, len);
                for (int j = 0; j < len; j++) {
                    cur[j] += sum[j];
                }
                bias.put(from, cur, 0, len);
            });
        }
    }

    // ---------------------------------------------------------------- layer norm

    @Override
    public void layerNormForward(INDArray out, INDArray mean, INDArray rstd, INDArray inp, INDArray gain,
                                 INDArray bias, double eps) {
        if (!fp32(out, mean, rstd, inp, gain, bias)) {
            generic.layerNormForward(out, mean, rstd, inp, gain, bias, eps);
            return;
        }
        int n = (int) inp.rows();
        int c = (int) inp.columns();
        FloatBuffer x = Mem.floats(inp);
        FloatBuffer o = Mem.floats(out);
        FloatBuffer mb = Mem.floats(mean);
        FloatBuffer rb = Mem.floats(rstd);
        float[] g = new float[c];
        float[] b = new float[c];
        Mem.floats(gain).get(0, g);
        Mem.floats(bias).get(0, b);
        parallel.forRange(n, ROWS_PER_THREAD, (from, to) -> {
            float[] row = new float[c];
            for (int i = from; i < to; i++) {
                x.get(i * c, row);
                float m = 0f;
                for (int j = 0; j < c; j++) {
                    m += row[j];
                }
                m /= c;
                float v = 0f;
                for (int j = 0; j < c; j++) {
                    float d = row[j] - m;
                    v += d * d;
                }
                v /= c;
                float r = (float) (1.0 / Math.sqrt(v + eps));
                for (int j = 0; j < c; j++) {
                    row[j] = (row[j] - m) * r * g[j] + b[j];
                }
                o.put(i * c, row);
                mb.put(i, m);
                rb.put(i, r);
            }
        });
    }

    @Override
    public void layerNormBackward(INDArray dinp, INDArray dgain, INDArray dbias, INDArray dout, INDArray inp,
                                  INDArray gain, INDArray mean, INDArray rstd) {
        if (!fp32(dinp, dgain, dbias, dout, inp, gain, mean, rstd)) {
            generic.layerNormBackward(dinp, dgain, dbias, dout, inp, gain, mean, rstd);
            return;
        }
        int n = (int) inp.rows();
        int c = (int) inp.columns();
        FloatBuffer x = Mem.floats(inp);
        FloatBuffer dy = Mem.floats(dout);
        FloatBuffer dx = Mem.floats(dinp);
        FloatBuffer mb = Mem.floats(mean);
        FloatBuffer rb = Mem.floats(rstd);
        float[] g = new float[c];
        Mem.floats(gain).get(0, g);
        // per-chunk partial sums, added in chunk order afterwards: the result does not depend on
        // which thread finishes first (resumed runs must reproduce losses exactly)
        float[][] dgParts = new float[parallel.chunks(n, ROWS_PER_THREAD)][];
        float[][] dbParts = new float[dgParts.length][];
        parallel.forRange(n, ROWS_PER_THREAD, (from, to) -> {
            float[] xr = new float[c];
            float[] dyr = new float[c];
            float[] dxr = new float[c];
            float[] dg = new float[c];
            float[] db = new float[c];
            for (int i = from; i < to; i++) {
                x.get(i * c, xr);
                dy.get(i * c, dyr);
                dx.get(i * c, dxr);
                float m = mb.get(i);
                float r = rb.get(i);
                float meanD = 0f;
                float meanDx = 0f;
                for (int j = 0; j < c; j++) {
                    float xhat = (xr[j] - m) * r;
                    float d = dyr[j] * g[j];
                    dg[j] += dyr[j] * xhat;
                    db[j] += dyr[j];
                    meanD += d;
                    meanDx += d * xhat;
                    xr[j] = xhat;
                }
                meanD /= c;
                meanDx /= c;
                for (int j = 0; j < c; j++) {
                    dxr[j] += (dyr[j] * g[j] - meanD - xr[j] * meanDx) * r;
                }
                dx.put(i * c, dxr);
            }
            int chunk = parallel.chunkOf(from, n, ROWS_PER_THREAD);
            dgParts[chunk] = dg;
            dbParts[chunk] = db;
        });
        addParts(dgain, dgParts, c);
        addParts(dbias, dbParts, c);
    }

    /**
     * Adds per-chunk partial sums to a parameter gradient (null: frozen, nothing to do), summed in
     * chunk order so that the result does not depend on which thread finished first.
     */
    private static void addParts(INDArray target, float[][] parts, int c) {
        if (target == null) {
            return;
        }
        float[] total = new float[c];
        for (float[] p : parts) {
            for (int j = 0; j < c; j++) {
                total[j] += p[j];
            }
        }
        FloatBuffer t = Mem.floats(target);
        float[] cur = new float[c];
        t.get(0, cur);
        for (int j = 0; j < c; j++) {
            cur[j] += total[j];
        }
        t.put(0, cur);
    }

    // ---------------------------------------------------------------- elementwise

    @Override
    public void geluForward(INDArray out, INDArray inp) {
        if (!fp32(out, inp)) {
            generic.geluForward(out, inp);
            return;
        }
        final float s = (float) GenericKernels.GELU_SCALE;
        final float k = (float) GenericKernels.GELU_CUBIC;
        zip(out, inp, null, (v, unused, len) -> {
            for (int j = 0; j < len; j++) {
                float xv = v[j];
                float t = FastMath.tanh(s * (xv + k * xv * xv * xv));
                v[j] = 0.5f * xv * (1f + t);
            }
        });
    }

    @Override
    public void geluBackward(INDArray dinp, INDArray inp, INDArray dout) {
        if (!fp32(dinp, inp, dout)) {
            generic.geluBackward(dinp, inp, dout);
            return;
        }
        final float s = (float) GenericKernels.GELU_SCALE;
        final float k = (float) GenericKernels.GELU_CUBIC;
        zip(dinp, dout, inp, (d, v, len) -> {
            for (int j = 0; j < len; j++) {
                float xv = v[j];
                float x2 = xv * xv;
                float t = FastMath.tanh(s * (xv + k * x2 * xv));
                float du = s * (1f + 3f * k * x2);
                d[j] *= 0.5f * (1f + t) + 0.5f * xv * (1f - t * t) * du;
            }
        });
    }

    @Override
    public void add(INDArray out, INDArray a, INDArray b) {
        if (!fp32(out, a, b)) {
            generic.add(out, a, b);
            return;
        }
        zip(out, a, b, (u, v, len) -> {
            for (int j = 0; j < len; j++) {
                u[j] += v[j];
            }
        });
    }

    // ---------------------------------------------------------------- the Llama family's layers

    @Override
    public void rmsNormForward(INDArray out, INDArray rstd, INDArray inp, INDArray gain, double eps) {
        if (!fp32(out, rstd, inp, gain)) {
            generic.rmsNormForward(out, rstd, inp, gain, eps);
            return;
        }
        int n = (int) inp.rows();
        int c = (int) inp.columns();
        FloatBuffer x = Mem.floats(inp);
        FloatBuffer o = Mem.floats(out);
        FloatBuffer rb = Mem.floats(rstd);
        float[] g = new float[c];
        Mem.floats(gain).get(0, g);
        parallel.forRange(n, ROWS_PER_THREAD, (from, to) -> {
            float[] row = new float[c];
            for (int i = from; i < to; i++) {
                x.get(i * c, row);
                float ss = 0f;
                for (int j = 0; j < c; j++) {
                    ss += row[j] * row[j];
                }
                float r = (float) (1.0 / Math.sqrt(ss / c + eps));
                for (int j = 0; j < c; j++) {
                    row[j] = row[j] * r * g[j];
                }
                o.put(i * c, row);
                rb.put(i, r);
            }
        });
    }

    @Override
    public void rmsNormBackward(INDArray dinp, INDArray dgain, INDArray dout, INDArray inp, INDArray gain,
                                INDArray rstd) {
        if (!fp32(dinp, dgain, dout, inp, gain, rstd)) {
            generic.rmsNormBackward(dinp, dgain, dout, inp, gain, rstd);
            return;
        }
        int n = (int) inp.rows();
        int c = (int) inp.columns();
        FloatBuffer x = Mem.floats(inp);
        FloatBuffer dy = Mem.floats(dout);
        FloatBuffer dx = Mem.floats(dinp);
        FloatBuffer rb = Mem.floats(rstd);
        float[] g = new float[c];
        Mem.floats(gain).get(0, g);
        // per-chunk partial sums added in chunk order: deterministic whatever the thread timing
        float[][] parts = new float[parallel.chunks(n, ROWS_PER_THREAD)][];
        parallel.forRange(n, ROWS_PER_THREAD, (from, to) -> {
            float[] xr = new float[c];
            float[] dyr = new float[c];
            float[] dxr = new float[c];
            float[] dg = new float[c];
            for (int i = from; i < to; i++) {
                x.get(i * c, xr);
                dy.get(i * c, dyr);
                dx.get(i * c, dxr);
                float r = rb.get(i);
                float meanDx = 0f;
                for (int j = 0; j < c; j++) {
                    float xhat = xr[j] * r;
                    dg[j] += dyr[j] * xhat;
                    meanDx += dyr[j] * g[j] * xhat;
                    xr[j] = xhat;
                }
                meanDx /= c;
                for (int j = 0; j < c; j++) {
                    dxr[j] += (dyr[j] * g[j] - xr[j] * meanDx) * r;
                }
                dx.put(i * c, dxr);
            }
            parts[parallel.chunkOf(from, n, ROWS_PER_THREAD)] = dg;
        });
        addParts(dgain, parts, c);
    }

    @Override
    public void rope(INDArray x, int[] positions, int heads, int headSize, double[] freq, boolean inverse) {
        if (!fp32(x)) {
            generic.rope(x, positions, heads, headSize, freq, inverse);
            return;
        }
        int n = (int) x.rows();
        int c = (int) x.columns();
        int half = headSize / 2;
        FloatBuffer fx = Mem.floats(x);
        float sign = inverse ? -1f : 1f;
        parallel.forRange(n, ROWS_PER_THREAD, (from, to) -> {
            float[] row = new float[c];
            float[] cos = new float[half];
            float[] sin = new float[half];
            for (int r = from; r < to; r++) {
                for (int i = 0; i < half; i++) {
                    double a = positions[r] * freq[i];
                    cos[i] = (float) Math.cos(a);
                    sin[i] = sign * (float) Math.sin(a);
                }
                fx.get(r * c, row);
                for (int h = 0; h < heads; h++) {
                    int base = h * headSize;
                    for (int i = 0; i < half; i++) {
                        float lo = row[base + i];
                        float hi = row[base + half + i];
                        row[base + i] = lo * cos[i] - hi * sin[i];
                        row[base + half + i] = hi * cos[i] + lo * sin[i];
                    }
                }
                fx.put(r * c, row);
            }
        });
    }

    @Override
    public void swigluForward(INDArray out, INDArray gate, INDArray up) {
        if (!fp32(out, gate, up)) {
            generic.swigluForward(out, gate, up);
            return;
        }
        zip(out, gate, up, (u, v, len) -> {
            for (int j = 0; j < len; j++) {
                float g = u[j];
                u[j] = g / (1f + (float) Math.exp(-g)) * v[j];
            }
        });
    }

    @Override
    public void swigluBackward(INDArray dgate, INDArray dup, INDArray dout, INDArray gate, INDArray up) {
        if (!fp32(dgate, dup, dout, gate, up)) {
            generic.swigluBackward(dgate, dup, dout, gate, up);
            return;
        }
        FloatBuffer dg = Mem.floats(dgate);
        FloatBuffer du = Mem.floats(dup);
        FloatBuffer d = Mem.floats(dout);
        FloatBuffer fg = Mem.floats(gate);
        FloatBuffer fu = Mem.floats(up);
        int total = (int) dout.length();
        parallel.forRange(total, 4096, (from, to) -> {
            int len = to - from;
            float[] gv = new float[len];
            float[] uv = new float[len];
            float[] dv = new float[len];
            fg.get(from, gv, 0, len);
            fu.get(from, uv, 0, len);
            d.get(from, dv, 0, len);
            float[] outG = new float[len];
            for (int j = 0; j < len; j++) {
                float s = 1f / (1f + (float) Math.exp(-gv[j]));
                outG[j] = dv[j] * uv[j] * s * (1f + gv[j] * (1f - s));
                uv[j] = dv[j] * gv[j] * s;
            }
            dg.put(from, outG, 0, len);
            du.put(from, uv, 0, len);
        });
    }

    @Override
    public void scale(INDArray a, double s) {
        if (!fp32(a)) {
            generic.scale(a, s);
            return;
        }
        float f = (float) s;
        zip(a, a, null, (u, unused, len) -> {
            for (int j = 0; j < len; j++) {
                u[j] *= f;
            }
        });
    }

    /** Body over a block of a flat range, with two scratch arrays of at least {@code length} floats. */
    @FunctionalInterface
    private interface BlockBody {
        void run(int from, int length, float[] scratchA, float[] scratchB);
    }

    /** Splits a flat range into cache-sized blocks over the threads; scratch is allocated once per thread. */
    /** One block of an elementwise kernel: {@code first} (which receives the result) and {@code second}, {@code len} valid. */
    @FunctionalInterface
    private interface ElementOp {
        void apply(float[] first, float[] second, int len);
    }

    /**
     * Elementwise over flat buffers in parallel blocks: {@code first}'s values (and
     * {@code second}'s, unless null) are loaded, {@code op} leaves the result in the first block,
     * which is stored to {@code out} (which may alias either input).
     */
    private void zip(INDArray out, INDArray first, INDArray second, ElementOp op) {
        FloatBuffer o = Mem.floats(out);
        FloatBuffer fa = Mem.floats(first);
        FloatBuffer fb = second == null ? null : Mem.floats(second);
        blocks(out.length(), (from, len, u, v) -> {
            fa.get(from, u, 0, len);
            if (fb != null) {
                fb.get(from, v, 0, len);
            }
            op.apply(u, v, len);
            o.put(from, u, 0, len);
        });
    }

    /**
     * Each thread's two blocks for {@link #blocks}: a decoding step makes dozens of small elementwise calls,
     * and fresh arrays for each (32 KB a call) were most of its allocation.
     */
    private static final ThreadLocal<float[][]> BLOCK_SCRATCH =
            ThreadLocal.withInitial(() -> new float[][] {new float[BLOCK], new float[BLOCK]});

    private void blocks(long total, BlockBody body) {
        int n = (int) total;
        int nBlocks = (n + BLOCK - 1) / BLOCK;
        parallel.forRange(nBlocks, 4, (from, to) -> {
            float[][] ab = BLOCK_SCRATCH.get();
            float[] a = ab[0];
            float[] b = ab[1];
            for (int blk = from; blk < to; blk++) {
                int start = blk * BLOCK;
                body.run(start, Math.min(BLOCK, n - start), a, b);
            }
        });
    }

    // ---------------------------------------------------------------- attention

    private static float[] maskOf(INDArray keyMask, int batch, int keys) {
        float[] m = new float[batch * keys];
        if (keyMask == null) {
            Arrays.fill(m, 1f);
        } else {
            Mem.floats(keyMask).get(0, m);
        }
        return m;
    }

    /**
     * Softmax over visible keys of each row of {@code scores}, in place. Row {@code r} belongs to
     * batch {@code r / (heads * steps)} and query position {@code start + r % steps}; rows have
     * {@code keys} entries; {@code mask} has {@code maskStride} entries per batch row.
     */
    private void maskedSoftmaxRows(FloatBuffer scores, int rows, int heads, int steps, int keys, int start,
                                   float[] mask, int maskStride) {
        parallel.forRange(rows, ROWS_PER_THREAD, (from, to) -> {
            float[] row = new float[keys];
            for (int r = from; r < to; r++) {
                int b = r / (heads * steps);
                int i = start + r % steps;
                int base = b * maskStride;
                int last = Math.min(i, keys - 1);
                scores.get(r * keys, row);
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j <= last; j++) {
                    if ((mask[base + j] != 0f || j == i) && row[j] > max) {
                        max = row[j];
                    }
                }
                float sum = 0f;
                for (int j = 0; j <= last; j++) {
                    if (mask[base + j] != 0f || j == i) {
                        float e = FastMath.exp(row[j] - max);
                        row[j] = e;
                        sum += e;
                    } else {
                        row[j] = 0f;
                    }
                }
                float inv = 1f / sum;
                for (int j = 0; j <= last; j++) {
                    row[j] *= inv;
                }
                for (int j = last + 1; j < keys; j++) {
                    row[j] = 0f;
                }
                scores.put(r * keys, row);
            }
        });
    }

    @Override
    public void attentionForward(INDArray out, INDArray probs, INDArray qkv, INDArray keyMask, int batch, int time,
                                 int heads) {
        if (!fp32(out, probs, qkv, keyMask)) {
            generic.attentionForward(out, probs, qkv, keyMask, batch, time, heads);
            return;
        }
        int c = (int) out.columns();
        int c3 = 3 * c;
        int hs = c / heads;
        float scale = (float) (1.0 / Math.sqrt(hs));
        FloatPointer q = Mem.pointer(qkv);
        FloatPointer k = Mem.pointer(qkv);
        FloatPointer p = Mem.pointer(probs);
        long tt = (long) time * time;
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                long rowBase = (long) b * time * c3 + (long) h * hs;
                Blas.sgemm(false, true, time, time, hs, scale, q, rowBase, c3, k, rowBase + c, c3, 0f, p,
                        (b * heads + h) * tt, time);
            }
        }
        maskedSoftmaxRows(Mem.floats(probs), batch * heads * time, heads, time, time, 0, maskOf(keyMask, batch, time),
                time);
        FloatPointer v = Mem.pointer(qkv);
        FloatPointer o = Mem.pointer(out);
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                long rowBase = (long) b * time * c3 + (long) h * hs;
                Blas.sgemm(false, false, time, hs, time, 1f, p, (b * heads + h) * tt, time, v, rowBase + 2L * c, c3,
                        0f, o, (long) b * time * c + (long) h * hs, c);
            }
        }
    }

    @Override
    public void attentionBackward(INDArray dqkv, INDArray dout, INDArray probs, INDArray qkv, int batch, int time,
                                  int heads) {
        if (!fp32(dqkv, dout, probs, qkv)) {
            generic.attentionBackward(dqkv, dout, probs, qkv, batch, time, heads);
            return;
        }
        int c = (int) dout.columns();
        int c3 = 3 * c;
        int hs = c / heads;
        float scale = (float) (1.0 / Math.sqrt(hs));
        long tt = (long) time * time;
        int rows = batch * heads * time;
        FloatPointer dp = scratch((long) rows * time);
        FloatPointer p = Mem.pointer(probs);
        FloatPointer dy = Mem.pointer(dout);
        FloatPointer a = Mem.pointer(qkv);
        FloatPointer d = Mem.pointer(dqkv);
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                long pOff = (b * heads + h) * tt;
                long yOff = (long) b * time * c + (long) h * hs;
                long rowBase = (long) b * time * c3 + (long) h * hs;
                // dP = dY V^T ; dV = P^T dY
                Blas.sgemm(false, true, time, time, hs, 1f, dy, yOff, c, a, rowBase + 2L * c, c3, 0f, dp, pOff, time);
                Blas.sgemm(true, false, time, hs, time, 1f, p, pOff, time, dy, yOff, c, 0f, d, rowBase + 2L * c, c3);
            }
        }
        FloatBuffer pb = Mem.floats(probs);
        FloatBuffer dpb = scratchFloats((long) rows * time);
        parallel.forRange(rows, ROWS_PER_THREAD, (from, to) -> {
            float[] pr = new float[time];
            float[] dr = new float[time];
            for (int r = from; r < to; r++) {
                pb.get(r * time, pr);
                dpb.get(r * time, dr);
                float dot = 0f;
                for (int j = 0; j < time; j++) {
                    dot += dr[j] * pr[j];
                }
                for (int j = 0; j < time; j++) {
                    dr[j] = pr[j] * (dr[j] - dot) * scale;
                }
                dpb.put(r * time, dr);
            }
        });
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                long pOff = (b * heads + h) * tt;
                long rowBase = (long) b * time * c3 + (long) h * hs;
                // dQ = dS K ; dK = dS^T Q
                Blas.sgemm(false, false, time, hs, time, 1f, dp, pOff, time, a, rowBase + c, c3, 0f, d, rowBase, c3);
                Blas.sgemm(true, false, time, hs, time, 1f, dp, pOff, time, a, rowBase, c3, 0f, d, rowBase + c, c3);
            }
        }
    }

    @Override
    public void attentionWithCache(INDArray out, INDArray qkv, INDArray kCache, INDArray vCache, INDArray keyMask,
                                   int batch, int steps, int start, int heads) {
        if (!fp32(out, qkv, kCache, vCache, keyMask)) {
            generic.attentionWithCache(out, qkv, kCache, vCache, keyMask, batch, steps, start, heads);
            return;
        }
        int c = (int) out.columns();
        attendCached(out, new Rows(qkv, 0, 3 * c), new Rows(qkv, c, 3 * c), new Rows(qkv, 2 * c, 3 * c), kCache,
                vCache, keyMask, batch, steps, start, heads, heads);
    }

    @Override
    public void attentionWithCacheGrouped(INDArray out, INDArray q, INDArray k, INDArray v, INDArray kCache,
                                          INDArray vCache, INDArray keyMask, int batch, int steps, int start,
                                          int heads, int kvHeads) {
        if (!fp32(out, q, k, v, kCache, vCache, keyMask)) {
            generic.attentionWithCacheGrouped(out, q, k, v, kCache, vCache, keyMask, batch, steps, start, heads,
                    kvHeads);
            return;
        }
        int kvw = (int) k.columns();
        attendCached(out, new Rows(q, 0, (int) q.columns()), new Rows(k, 0, kvw), new Rows(v, 0, kvw), kCache,
                vCache, keyMask, batch, steps, start, heads, kvHeads);
    }

    /** Row {@code r} of a matrix's column block: {@code offset + r * stride} in {@code array}'s buffer. */
    private record Rows(INDArray array, int offset, int stride) {
    }

    /**
     * Cached attention read in place: the new keys and values are written into the caches
     * {@code [B, capacity, kvHeads*hs]}, then each query head reads its key/value head's columns of
     * the cache through BLAS leading dimensions: nothing of the cache is copied per step.
     */
    private void attendCached(INDArray out, Rows q, Rows k, Rows v, INDArray kCache, INDArray vCache,
                              INDArray keyMask, int batch, int steps, int start, int heads, int kvHeads) {
        int c = (int) out.columns();
        int hs = c / heads;
        int group = heads / kvHeads;
        int kvw = kvHeads * hs;
        int capacity = (int) kCache.size(1);
        int keys = start + steps;
        float scale = (float) (1.0 / Math.sqrt(hs));
        FloatBuffer ks = Mem.floats(k.array());
        FloatBuffer vs = Mem.floats(v.array());
        FloatBuffer kc = Mem.floats(kCache);
        FloatBuffer vc = Mem.floats(vCache);
        float[] row = new float[kvw];
        for (int b = 0; b < batch; b++) {
            for (int s = 0; s < steps; s++) {
                int r = b * steps + s;
                int dst = (b * capacity + start + s) * kvw;
                ks.get(k.offset() + r * k.stride(), row);
                kc.put(dst, row);
                vs.get(v.offset() + r * v.stride(), row);
                vc.put(dst, row);
            }
        }
        float[] mask = maskOf(keyMask, batch, capacity);
        int rows = batch * heads * steps;
        FloatPointer sc = scratch((long) rows * keys);
        FloatPointer qp = Mem.pointer(q.array());
        FloatPointer kp = Mem.pointer(kCache);
        // decoding reads each row's keys and values from its first visible slot: the masked slots before
        // it weigh 0, and leaving them out keeps OpenBLAS's GEMV grouping its work (in blocks of columns
        // counted from the first) the same wherever the row's keys sit in the cache, so a row that joined
        // a running batch at an offset (KvBatch) gets the floats it gets alone (measured: it did not before)
        int[] first = new int[batch];
        if (steps == 1) {
            for (int b = 0; b < batch; b++) {
                while (first[b] < start && mask[b * capacity + first[b]] == 0f) {
                    first[b]++;
                }
            }
        }
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                long qOff = q.offset() + (long) b * steps * q.stride() + (long) h * hs;
                long kOff = (long) b * capacity * kvw + (long) (h / group) * hs;
                long sOff = (long) (b * heads + h) * steps * keys;
                if (steps == 1) {
                    // decoding: OpenBLAS's GEMV is several times faster than its GEMM with one row
                    int f = first[b];
                    Blas.sgemv(false, keys - f, hs, scale, kp, kOff + (long) f * kvw, kvw, qp, qOff, 0f, sc, sOff + f);
                } else {
                    Blas.sgemm(false, true, steps, keys, hs, scale, qp, qOff, q.stride(), kp, kOff, kvw, 0f, sc,
                            sOff, keys);
                }
            }
        }
        maskedSoftmaxRows(scratchFloats((long) rows * keys), rows, heads, steps, keys, start, mask, capacity);
        FloatPointer vp = Mem.pointer(vCache);
        FloatPointer o = Mem.pointer(out);
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                long vOff = (long) b * capacity * kvw + (long) (h / group) * hs;
                long sOff = (long) (b * heads + h) * steps * keys;
                long oOff = (long) b * steps * c + (long) h * hs;
                if (steps == 1) {
                    int f = first[b];
                    Blas.sgemv(true, keys - f, hs, 1f, vp, vOff + (long) f * kvw, kvw, sc, sOff + f, 0f, o, oOff);
                } else {
                    Blas.sgemm(false, false, steps, hs, keys, 1f, sc, sOff, keys, vp, vOff, kvw, 0f, o, oOff, c);
                }
            }
        }
    }

    // ---------------------------------------------------------------- losses

    @Override
    public double crossEntropy(INDArray logits, int[] targets, float[] weights, INDArray dlogits) {
        if (!fp32(logits, dlogits)) {
            return generic.crossEntropy(logits, targets, weights, dlogits);
        }
        int n = (int) logits.rows();
        int v = (int) logits.columns();
        FloatBuffer in = Mem.floats(logits);
        FloatBuffer out = Mem.floats(dlogits);
        double[] partial = new double[parallel.chunks(n, 4)];
        parallel.forRange(n, 4, (from, to) -> {
            float[] row = new float[v];
            double loss = 0;
            for (int i = from; i < to; i++) {
                float w = weights[i];
                if (w == 0f) {
                    Arrays.fill(row, 0f);
                    out.put(i * v, row);
                    continue;
                }
                in.get(i * v, row);
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < v; j++) {
                    max = Math.max(max, row[j]);
                }
                int t = targets[i];
                float logit = row[t];
                float sum = 0f;
                for (int j = 0; j < v; j++) {
                    float e = FastMath.exp(row[j] - max);
                    row[j] = e;
                    sum += e;
                }
                loss -= w * (logit - max - Math.log(sum));
                float scale = w / sum;
                for (int j = 0; j < v; j++) {
                    row[j] *= scale;
                }
                row[t] -= w;
                out.put(i * v, row);
            }
            partial[parallel.chunkOf(from, n, 4)] = loss;
        });
        double total = 0;
        for (double l : partial) {
            total += l;
        }
        return total;
    }

    @Override
    public void argmaxRows(INDArray logits, int[] out) {
        if (!fp32(logits)) {
            generic.argmaxRows(logits, out);
            return;
        }
        int n = (int) logits.rows();
        int v = (int) logits.columns();
        FloatBuffer in = Mem.floats(logits);
        parallel.forRange(n, 4, (from, to) -> {
            float[] row = new float[v];
            for (int i = from; i < to; i++) {
                in.get(i * v, row);
                int best = 0;
                for (int j = 1; j < v; j++) {
                    if (row[j] > row[best]) {
                        best = j;
                    }
                }
                out[i] = best;
            }
        });
    }

    @Override
    public void logProbsOf(INDArray logits, int[] targets, double[] out) {
        if (!fp32(logits)) {
            generic.logProbsOf(logits, targets, out);
            return;
        }
        int n = (int) logits.rows();
        int v = (int) logits.columns();
        FloatBuffer in = Mem.floats(logits);
        parallel.forRange(n, 4, (from, to) -> {
            float[] row = new float[v];
            for (int i = from; i < to; i++) {
                in.get(i * v, row);
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < v; j++) {
                    max = Math.max(max, row[j]);
                }
                double sum = 0;
                for (int j = 0; j < v; j++) {
                    sum += FastMath.exp(row[j] - max);
                }
                out[i] = row[targets[i]] - max - Math.log(sum);
            }
        });
    }

    @Override
    public void close() {
        parallel.close();
    }
}
