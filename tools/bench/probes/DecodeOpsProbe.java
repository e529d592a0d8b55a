// The decoding step's products and residual add, timed in a loop after warm-up: a 384 x 1536 Conv1D product
// of 1 or 8 rows (sgemv, or the Vector API's few-row kernel), the add after it, a 1536 x 384 product.
//   ./align4j --version && javac -cp "cli/target/lib/*" -d /tmp/probes tools/bench/probes/DecodeOpsProbe.java
//   java --add-modules jdk.incubator.vector -cp "cli/target/lib/*:/tmp/probes" DecodeOpsProbe 8
import org.align4j.core.backend.Backend;
import org.align4j.core.kernels.Kernels;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

public class DecodeOpsProbe {
    public static void main(String[] a) {
        Kernels k = Backend.get().kernels();
        int rows = Integer.parseInt(a[0]);
        INDArray x = Nd4j.rand(DataType.FLOAT, rows, 384), y = Nd4j.rand(DataType.FLOAT, rows, 384);
        INDArray w = Nd4j.rand(DataType.FLOAT, 384, 1536), o = Nd4j.create(DataType.FLOAT, rows, 1536);
        INDArray w2 = Nd4j.rand(DataType.FLOAT, 1536, 384);
        for (int rep = 0; rep < 4; rep++) {
            int N = 5000; long tm = 0, ta = 0, tm2 = 0;
            for (int i = 0; i < N; i++) {
                long t0 = System.nanoTime();
                k.matmulForward(o, x, w, false, null);
                long t1 = System.nanoTime();
                k.add(x, x, y);
                long t2 = System.nanoTime();
                k.matmulForward(y, o, w2, false, null);
                long t3 = System.nanoTime();
                tm += t1 - t0; ta += t2 - t1; tm2 += t3 - t2;
            }
            System.out.printf("rows %d: matmul 384x1536 %.1f us, add after it %.1f us, matmul 1536x384 %.1f us%n", rows, tm / 1e3 / N, ta / 1e3 / N, tm2 / 1e3 / N);
        }
    }
}
