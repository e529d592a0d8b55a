package org.align4j.core.kernels;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.FloatBuffer;
import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The few-row product of batched decoding, timed against its alternatives on weights read from memory (enough
 * copies to exceed the caches), in thread CPU time so that other load on the machine counts less: full sgemm,
 * one-row sgemv, a Java axpy loop, and chunked sgemv/sgemm in both weight layouts at several chunk sizes.
 * Run by tools/bench/few_rows_probe.sh with OMP_NUM_THREADS=1 (all work on the calling thread).
 */
public final class FewRowsProbe {
    interface Body { void run(int m); }
    static final ThreadMXBean MX = ManagementFactory.getThreadMXBean();
    static int M;
    static double best(Body b) {
        double best = 1e18;
        for (int r = 0; r < 5; r++) {
            long t0 = MX.getCurrentThreadCpuTime();
            for (int i = 0; i < M; i++) b.run(i);
            best = Math.min(best, (MX.getCurrentThreadCpuTime() - t0) / 1e3 / M);
        }
        return best;
    }
    static void javaAxpy(FloatBuffer w, float[][] x, float[][] acc, float[] wrow, int c, int oc, int n, FloatBuffer out) {
        int J = wrow.length;
        for (int j0 = 0; j0 < oc; j0 += J) {
            int len = Math.min(J, oc - j0);
            for (int i = 0; i < n; i++) java.util.Arrays.fill(acc[i], 0f);
            for (int k = 0; k < c; k++) {
                w.get(k * oc + j0, wrow, 0, len);
                for (int i = 0; i < n; i++) {
                    float xv = x[i][k];
                    float[] a = acc[i];
                    for (int j = 0; j < len; j++) a[j] += xv * wrow[j];
                }
            }
            for (int i = 0; i < n; i++) out.put(i * oc + j0, acc[i], 0, len);
        }
    }
    public static void main(String[] a) {
        if (a.length > 1 && a[1].equals("kernels")) {
            kernels(a[0]);
            return;
        }
        int n = Integer.parseInt(a[0]);
        int[][] shapes = {{768, 3072}, {3072, 768}, {384, 1152}};
        for (int[] s : shapes) {
            int c = s[0], oc = s[1];
            M = (int) Math.max(4, 200e6 / (4.0 * c * oc));
            INDArray[] ws = new INDArray[M];
            FloatPointer[] pw = new FloatPointer[M];
            FloatBuffer[] fw = new FloatBuffer[M];
            for (int m = 0; m < M; m++) { ws[m] = Nd4j.rand(DataType.FLOAT, c, oc); pw[m] = Mem.pointer(ws[m]); fw[m] = Mem.floats(ws[m]); }
            INDArray x = Nd4j.rand(DataType.FLOAT, n, c);
            INDArray o = Nd4j.create(DataType.FLOAT, n, oc);
            FloatPointer px = Mem.pointer(x), po = Mem.pointer(o);
            float[][] xh = new float[n][c];
            for (int i = 0; i < n; i++) Mem.floats(x).get(i * c, xh[i]);
            float[][] acc = new float[n][512];
            float[] wrow = new float[512];
            double mb = 4.0 * c * oc / 1e6;
            double tg = best(m -> Blas.sgemm(false, false, n, oc, c, 1f, px, 0, c, pw[m], 0, oc, 0f, po, 0, oc));
            double t1 = best(m -> Blas.sgemv(true, c, oc, 1f, pw[m], 0, oc, px, 0, 0f, po, 0));
            double tj = best(m -> javaAxpy(fw[m], xh, acc, wrow, c, oc, n, Mem.floats(o)));
            StringBuilder sb = new StringBuilder(String.format("%dx%d (%.1f MB, %d copies) n=%d: sgemm %.0f us, one-row sgemv %.0f us, java axpy %.0f us", c, oc, mb, M, n, tg, t1, tj));
            for (int kb : new int[] {32, 128, 512, 2048}) {
                int rows = Math.max(1, kb * 1024 / (4 * oc));
                double tv = best(m -> {
                    for (int k0 = 0; k0 < c; k0 += rows) {
                        int kr = Math.min(rows, c - k0);
                        for (int i = 0; i < n; i++) {
                            Blas.sgemv(true, kr, oc, 1f, pw[m], (long) k0 * oc, oc, px, (long) i * c + k0, k0 == 0 ? 0f : 1f, po, (long) i * oc);
                        }
                    }
                });
                double tm = best(m -> {
                    for (int k0 = 0; k0 < c; k0 += rows) {
                        int kr = Math.min(rows, c - k0);
                        Blas.sgemm(false, false, n, oc, kr, 1f, px, k0, c, pw[m], (long) k0 * oc, oc, k0 == 0 ? 0f : 1f, po, 0, oc);
                    }
                });
                // [out, in] view: the same buffer read as W' [oc, c] transposed
                int orow = Math.max(1, kb * 1024 / (4 * c));
                double tt = best(m -> {
                    for (int j0 = 0; j0 < oc; j0 += orow) {
                        int jr = Math.min(orow, oc - j0);
                        Blas.sgemm(false, true, n, jr, c, 1f, px, 0, c, pw[m], (long) j0 * c, c, 0f, po, j0, oc);
                    }
                });
                double tvt = best(m -> {
                    for (int j0 = 0; j0 < oc; j0 += orow) {
                        int jr = Math.min(orow, oc - j0);
                        for (int i = 0; i < n; i++)
                        Blas.sgemv(false, jr, c, 1f, pw[m], (long) j0 * c, c, px, (long) i * c, 0f, po, (long) i * oc + j0);
                    }
                });
                sb.append(String.format("%n   %dKB: [in,out] gemv %.0f gemm %.0f | [out,in] gemv %.0f gemm %.0f", kb, tv, tm, tvt, tt));
            }
            System.out.println(sb);
        }
    }

    /**
     * The kernels' own few-row product (copies included), chunked sgemv against the Vector API's
     * register-blocked path, single-threaded, for each row count in {@code rowsList} ("2,4,8,16"), on
     * the GPT-2 and SmolLM2-135M shapes' matrices in both layouts.
     */
    static void kernels(String rowsList) {
        Kernels generic = new GenericKernels();
        CpuKernels sgemv = new CpuKernels(generic, 1, false);
        CpuKernels vector = new CpuKernels(generic, 1, true);
        // [in, out]: GPT-2 124M's c_attn, c_fc, mlp c_proj; SmolLM2-135M's q/o, gate/up, down (as [in, out] sizes)
        int[][] shapes = {{768, 2304}, {768, 3072}, {3072, 768}, {576, 576}, {576, 1536}, {1536, 576}};
        for (String r : rowsList.split(",")) {
            int n = Integer.parseInt(r);
            for (int[] s : shapes) {
                int c = s[0], oc = s[1];
                M = (int) Math.max(4, 200e6 / (4.0 * c * oc));
                INDArray[] conv = new INDArray[M];
                INDArray[] lin = new INDArray[M];
                for (int m = 0; m < M; m++) {
                    conv[m] = Nd4j.rand(DataType.FLOAT, c, oc);
                    lin[m] = conv[m].reshape(oc, c);
                }
                INDArray x = Nd4j.rand(DataType.FLOAT, n, c);
                INDArray o = Nd4j.create(DataType.FLOAT, n, oc);
                double[] us = new double[4];
                // interleaved twice, the better of each kept: the machine's load shifts while this runs
                for (int round = 0; round < 2; round++) {
                    double[] t = {
                        best(m -> sgemv.matmulForward(o, x, conv[m], false, null)),
                        best(m -> vector.matmulForward(o, x, conv[m], false, null)),
                        best(m -> sgemv.matmulForward(o, x, lin[m], true, null)),
                        best(m -> vector.matmulForward(o, x, lin[m], true, null))};
                    for (int i = 0; i < 4; i++) {
                        us[i] = round == 0 ? t[i] : Math.min(us[i], t[i]);
                    }
                }
                System.out.printf("n=%2d %4dx%-4d (%.1f MB x %d): [in,out] sgemv-chunks %6.0f us, vector %6.0f us"
                        + " (%.2fx) | [out,in] sgemv-chunks %6.0f us, vector %6.0f us (%.2fx)%n", n, c, oc,
                        4.0 * c * oc / 1e6, M, us[0], us[1], us[0] / us[1], us[2], us[3], us[2] / us[3]);
                for (INDArray w : conv) {
                    w.close();
                }
            }
        }
        sgemv.close();
        vector.close();
    }
}
