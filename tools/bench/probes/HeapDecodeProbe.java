// Batch-1 decoding of the README's GPT-2 shape (random weights), tokens/s of each 64-token generation over
// time: run it with the JVM options to compare, e.g. "-Xms4g -Xmx4g" (decoding collapsed from ~450 to ~125
// tokens/s after four seconds on the project's VM) against "-Xmx4g" alone.
//   ./align4j --version && javac -cp "cli/target/lib/*" -d /tmp/probes tools/bench/probes/HeapDecodeProbe.java
//   OMP_WAIT_POLICY=PASSIVE OPENBLAS_THREAD_TIMEOUT=4 java -Xms4g -Xmx4g --add-modules jdk.incubator.vector \
//       -cp "cli/target/lib/*:/tmp/probes" HeapDecodeProbe 1
import java.util.*;
import org.align4j.core.backend.Backend;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.model.*;
import org.align4j.core.generate.*;

public class HeapDecodeProbe {
    public static void main(String[] a) {
        Kernels k = Backend.get().kernels();
        int batch = Integer.parseInt(a[0]);
        Architecture arch = Architecture.values()[0];
        Architecture.Shape shape = new Architecture.Shape(8192, 256, 384, 6, 6, 6, 1536, true, 10000.0);
        DecoderModel model = arch.randomModel(arch.config(shape, 8191), k, 0);
        Generator gen = new Generator(model);
        SplittableRandom rng = new SplittableRandom(1);
        List<int[]> prompts = new ArrayList<>();
        for (int b = 0; b < batch; b++) { int[] p = new int[16]; for (int t = 0; t < 16; t++) p[t] = rng.nextInt(8192); prompts.add(p); }
        if (a.length > 1) {
            org.nd4j.linalg.api.ndarray.INDArray w = org.nd4j.linalg.factory.Nd4j.ones(org.nd4j.linalg.api.buffer.DataType.FLOAT, 8192, 8192);
            org.nd4j.linalg.api.ndarray.INDArray x = org.nd4j.linalg.factory.Nd4j.ones(org.nd4j.linalg.api.buffer.DataType.FLOAT, 1, 8192);
            org.nd4j.linalg.api.ndarray.INDArray y = org.nd4j.linalg.factory.Nd4j.create(org.nd4j.linalg.api.buffer.DataType.FLOAT, 1, 8192);
            for (int r = 0; r < 8; r++) k.matmulForward(y, x, w, true, null);
            w.close();
            System.out.println("probe done");
        }
        long start = System.nanoTime();
        for (int it = 0; it < 40; it++) {
            long t0 = System.nanoTime();
            int n = gen.generate(prompts, SamplingConfig.greedy(64), null).stream().mapToInt(g -> g.tokenIds().length).sum();
            double s = (System.nanoTime() - t0) / 1e9;
            System.out.printf("t=%.1fs batch %d: %.0f tokens/s%n", (System.nanoTime() - start) / 1e9, batch, n / s);
        }
    }
}
