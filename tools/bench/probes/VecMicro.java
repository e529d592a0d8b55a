// Three register blockings of an 8-row product with a Conv1D [in, out] weight, single-threaded, in thread
// CPU time, weights read from memory (enough copies to exceed the caches); standalone (no align4j classes):
//   javac --add-modules jdk.incubator.vector -d /tmp/vm tools/bench/probes/VecMicro.java
//   java --add-modules jdk.incubator.vector -cp /tmp/vm VecMicro 768 3072
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

public class VecMicro {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int V = S.length();
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    // variant A: 4 rows x 4 vectors (the current kernel's shape), all k, out accumulate
    static void a4x4(ByteBuffer w, int c, int oc, float[] x, int rows, float[] out) {
        for (int j = 0; j < oc; j += 4 * V) {
            for (int i = 0; i < rows; i += 4) {
                FloatVector a00 = FloatVector.zero(S), a01 = a00, a02 = a00, a03 = a00;
                FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
                FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
                FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
                int x0 = i * c, x1 = x0 + c, x2 = x1 + c, x3 = x2 + c;
                int at = 4 * j;
                for (int k = 0; k < c; k++, at += 4 * oc) {
                    FloatVector w0 = FloatVector.fromByteBuffer(S, w, at, LE);
                    FloatVector w1 = FloatVector.fromByteBuffer(S, w, at + 4 * V, LE);
                    FloatVector w2 = FloatVector.fromByteBuffer(S, w, at + 8 * V, LE);
                    FloatVector w3 = FloatVector.fromByteBuffer(S, w, at + 12 * V, LE);
                    FloatVector b = FloatVector.broadcast(S, x[x0 + k]);
                    a00 = w0.fma(b, a00); a01 = w1.fma(b, a01); a02 = w2.fma(b, a02); a03 = w3.fma(b, a03);
                    b = FloatVector.broadcast(S, x[x1 + k]);
                    a10 = w0.fma(b, a10); a11 = w1.fma(b, a11); a12 = w2.fma(b, a12); a13 = w3.fma(b, a13);
                    b = FloatVector.broadcast(S, x[x2 + k]);
                    a20 = w0.fma(b, a20); a21 = w1.fma(b, a21); a22 = w2.fma(b, a22); a23 = w3.fma(b, a23);
                    b = FloatVector.broadcast(S, x[x3 + k]);
                    a30 = w0.fma(b, a30); a31 = w1.fma(b, a31); a32 = w2.fma(b, a32); a33 = w3.fma(b, a33);
                }
                int o = i * oc + j;
                a00.intoArray(out, o); a01.intoArray(out, o + V); a02.intoArray(out, o + 2 * V); a03.intoArray(out, o + 3 * V);
                o += oc;
                a10.intoArray(out, o); a11.intoArray(out, o + V); a12.intoArray(out, o + 2 * V); a13.intoArray(out, o + 3 * V);
                o += oc;
                a20.intoArray(out, o); a21.intoArray(out, o + V); a22.intoArray(out, o + 2 * V); a23.intoArray(out, o + 3 * V);
                o += oc;
                a30.intoArray(out, o); a31.intoArray(out, o + V); a32.intoArray(out, o + 2 * V); a33.intoArray(out, o + 3 * V);
            }
        }
    }

    // variant B: 8 rows x 2 vectors: each weight vector feeds 8 FMAs
    static void b8x2(ByteBuffer w, int c, int oc, float[] x, int rows, float[] out) {
        for (int j = 0; j < oc; j += 2 * V) {
            for (int i = 0; i < rows; i += 8) {
                FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
                FloatVector c0 = a0, c1 = a0, c2 = a0, c3 = a0, c4 = a0, c5 = a0, c6 = a0, c7 = a0;
                int x0 = i * c;
                int at = 4 * j;
                for (int k = 0; k < c; k++, at += 4 * oc) {
                    FloatVector w0 = FloatVector.fromByteBuffer(S, w, at, LE);
                    FloatVector w1 = FloatVector.fromByteBuffer(S, w, at + 4 * V, LE);
                    FloatVector b;
                    b = FloatVector.broadcast(S, x[x0 + k]); a0 = w0.fma(b, a0); c0 = w1.fma(b, c0);
                    b = FloatVector.broadcast(S, x[x0 + c + k]); a1 = w0.fma(b, a1); c1 = w1.fma(b, c1);
                    b = FloatVector.broadcast(S, x[x0 + 2 * c + k]); a2 = w0.fma(b, a2); c2 = w1.fma(b, c2);
                    b = FloatVector.broadcast(S, x[x0 + 3 * c + k]); a3 = w0.fma(b, a3); c3 = w1.fma(b, c3);
                    b = FloatVector.broadcast(S, x[x0 + 4 * c + k]); a4 = w0.fma(b, a4); c4 = w1.fma(b, c4);
                    b = FloatVector.broadcast(S, x[x0 + 5 * c + k]); a5 = w0.fma(b, a5); c5 = w1.fma(b, c5);
                    b = FloatVector.broadcast(S, x[x0 + 6 * c + k]); a6 = w0.fma(b, a6); c6 = w1.fma(b, c6);
                    b = FloatVector.broadcast(S, x[x0 + 7 * c + k]); a7 = w0.fma(b, a7); c7 = w1.fma(b, c7);
                }
                int o = i * oc + j;
                a0.intoArray(out, o); c0.intoArray(out, o + V); o += oc;
                a1.intoArray(out, o); c1.intoArray(out, o + V); o += oc;
                a2.intoArray(out, o); c2.intoArray(out, o + V); o += oc;
                a3.intoArray(out, o); c3.intoArray(out, o + V); o += oc;
                a4.intoArray(out, o); c4.intoArray(out, o + V); o += oc;
                a5.intoArray(out, o); c5.intoArray(out, o + V); o += oc;
                a6.intoArray(out, o); c6.intoArray(out, o + V); o += oc;
                a7.intoArray(out, o); c7.intoArray(out, o + V);
            }
        }
    }

    // variant C: 8 rows x 2 vectors with x transposed [c][8] so the 8 broadcasts read one cache line
    static void c8x2t(ByteBuffer w, int c, int oc, float[] xt, float[] out) {
        for (int j = 0; j < oc; j += 2 * V) {
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            FloatVector c0 = a0, c1 = a0, c2 = a0, c3 = a0, c4 = a0, c5 = a0, c6 = a0, c7 = a0;
            int at = 4 * j;
            for (int k = 0, xk = 0; k < c; k++, at += 4 * oc, xk += 8) {
                FloatVector w0 = FloatVector.fromByteBuffer(S, w, at, LE);
                FloatVector w1 = FloatVector.fromByteBuffer(S, w, at + 4 * V, LE);
                FloatVector b;
                b = FloatVector.broadcast(S, xt[xk]); a0 = w0.fma(b, a0); c0 = w1.fma(b, c0);
                b = FloatVector.broadcast(S, xt[xk + 1]); a1 = w0.fma(b, a1); c1 = w1.fma(b, c1);
                b = FloatVector.broadcast(S, xt[xk + 2]); a2 = w0.fma(b, a2); c2 = w1.fma(b, c2);
                b = FloatVector.broadcast(S, xt[xk + 3]); a3 = w0.fma(b, a3); c3 = w1.fma(b, c3);
                b = FloatVector.broadcast(S, xt[xk + 4]); a4 = w0.fma(b, a4); c4 = w1.fma(b, c4);
                b = FloatVector.broadcast(S, xt[xk + 5]); a5 = w0.fma(b, a5); c5 = w1.fma(b, c5);
                b = FloatVector.broadcast(S, xt[xk + 6]); a6 = w0.fma(b, a6); c6 = w1.fma(b, c6);
                b = FloatVector.broadcast(S, xt[xk + 7]); a7 = w0.fma(b, a7); c7 = w1.fma(b, c7);
            }
            int o = j;
            a0.intoArray(out, o); c0.intoArray(out, o + V); o += oc;
            a1.intoArray(out, o); c1.intoArray(out, o + V); o += oc;
            a2.intoArray(out, o); c2.intoArray(out, o + V); o += oc;
            a3.intoArray(out, o); c3.intoArray(out, o + V); o += oc;
            a4.intoArray(out, o); c4.intoArray(out, o + V); o += oc;
            a5.intoArray(out, o); c5.intoArray(out, o + V); o += oc;
            a6.intoArray(out, o); c6.intoArray(out, o + V); o += oc;
            a7.intoArray(out, o); c7.intoArray(out, o + V);
        }
    }

    public static void main(String[] args) {
        int c = Integer.parseInt(args[0]), oc = Integer.parseInt(args[1]), rows = 8;
        int copies = Math.max(1, (64 << 20) / (4 * c * oc)); // exceed the caches
        ByteBuffer[] ws = new ByteBuffer[copies];
        for (int i = 0; i < copies; i++) {
            ws[i] = ByteBuffer.allocateDirect(4 * c * oc).order(LE);
            for (int e = 0; e < c * oc; e++) ws[i].putFloat(4 * e, (float) Math.sin(e + i));
        }
        float[] x = new float[rows * c], xt = new float[rows * c], out = new float[rows * oc], ref = new float[rows * oc];
        for (int e = 0; e < x.length; e++) x[e] = (float) Math.cos(e);
        for (int i = 0; i < rows; i++) for (int k = 0; k < c; k++) xt[k * 8 + i] = x[i * c + k];
        ThreadMXBean t = ManagementFactory.getThreadMXBean();
        for (int round = 0; round < 6; round++) {
            long[] ns = new long[3];
            for (int v = 0; v < 3; v++) {
                long t0 = t.getCurrentThreadCpuTime();
                int reps = 200;
                for (int r = 0; r < reps; r++) {
                    ByteBuffer w = ws[r % copies];
                    if (v == 0) a4x4(w, c, oc, x, rows, out);
                    else if (v == 1) b8x2(w, c, oc, x, rows, out);
                    else c8x2t(w, c, oc, xt, out);
                }
                ns[v] = (t.getCurrentThreadCpuTime() - t0) / reps;
                if (v == 0) System.arraycopy(out, 0, ref, 0, out.length);
                else { double d = 0; for (int e = 0; e < out.length; e++) d = Math.max(d, Math.abs(out[e] - ref[e])); if (d > 1e-2) System.out.println("MISMATCH " + v + " " + d); }
            }
            double f = 2.0 * rows * c * oc;
            System.out.printf("%d x %d, 8 rows: 4x4 %.0f us (%.0f GF), 8x2 %.0f us (%.0f GF), 8x2 transposed x %.0f us (%.0f GF)%n", c, oc,
                    ns[0] / 1e3, f / ns[0], ns[1] / 1e3, f / ns[1], ns[2] / 1e3, f / ns[2]);
        }
    }
}
