import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import org.align4j.core.backend.Backend;
import org.align4j.core.model.ParameterSet;
import org.align4j.core.optim.AdamW;
import org.align4j.core.optim.AdamWConfig;
import org.align4j.train.scale.RawFloats;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.io.LZ4CompressionCodec;
import org.apache.spark.serializer.JavaSerializer;
import org.apache.spark.serializer.SerializerInstance;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

/**
 * Where the time of moving P floats to an executor and back goes (docs: README "Running on a Spark
 * cluster", tools/bench/spark-transfer.sh runs it): the pieces one at a time (copies out of and into
 * ND4J, Java serialisation of a float[] and of raw bytes, lz4), then a whole round trip on embedded
 * local[1] Spark (broadcast the payload, one task reads it and returns it as its result, collect) under
 * the old and the new settings, then the driver's AdamW step and an ordered add of P floats. Medians.
 *
 *   java -cp CLASSPATH SparkTransferBench FLOATS REPEATS [MASTER]
 */
public final class SparkTransferBench {

    public static void main(String[] args) throws Exception {
        long p = Long.parseLong(args[0]);
        int reps = Integer.parseInt(args[1]);
        String master = args.length > 2 ? args[2] : "local[1]";
        Backend.get();
        double mb = 4.0 * p / 1e6;
        System.out.printf("P = %,d floats (%.1f MB), %d repeats, medians%n", p, mb, reps);
        INDArray flat = Nd4j.rand(DataType.FLOAT, p);

        pieces(flat, mb, reps);
        // the pieces' buffers (several copies of P floats) are garbage from here: the round trips get the heap
        float[] f = flat.toFloatVector();
        RawFloats raw = RawFloats.of(flat);
        roundTrip(master, "old: float[], Spark defaults", Map.of(), f, mb, reps);
        f = null;
        roundTrip(master, "raw bytes, Spark defaults", Map.of(), raw, mb, reps);
        roundTrip(master, "raw bytes, broadcast uncompressed", Map.of("spark.broadcast.compress", "false"), raw, mb,
                reps);
        roundTrip(master, "new: raw bytes, uncompressed, direct results", Map.of("spark.broadcast.compress", "false",
                "spark.task.maxDirectResultSize", "2047m", "spark.rpc.message.maxSize", "2047",
                "spark.driver.maxResultSize", "0"), raw, mb, reps);
        raw = null;
        optimizer(flat, p, mb, reps);
    }

    private static void pieces(INDArray flat, double mb, int reps) throws Exception {
        time("INDArray.toFloatVector()", mb, reps, flat::toFloatVector);
        time("RawFloats.of (one memcpy)", mb, reps, () -> RawFloats.of(flat));
        float[] f = flat.toFloatVector();
        RawFloats raw = RawFloats.of(flat);
        time("createFromArray(float[]) + assign", mb, reps, () -> flat.assign(Nd4j.createFromArray(f)));
        time("RawFloats.copyTo (one memcpy)", mb, reps, () -> {
            raw.copyTo(flat);
            return null;
        });

        SerializerInstance java = new JavaSerializer(new SparkConf()).newInstance();
        ClassTag<Object> any = ClassTag$.MODULE$.apply(Object.class);
        ByteBuffer fs = time("Java serialise float[]", mb, reps, () -> java.serialize(f, any));
        time("Java deserialise float[]", mb, reps, () -> java.deserialize(fs.duplicate(), any));
        ByteBuffer rs = time("Java serialise RawFloats", mb, reps, () -> java.serialize(raw, any));
        time("Java deserialise RawFloats", mb, reps, () -> java.deserialize(rs.duplicate(), any));
        byte[] bytes = new byte[rs.remaining()];
        rs.duplicate().get(bytes);
        LZ4CompressionCodec lz4 = new LZ4CompressionCodec(new SparkConf());
        ByteArrayOutputStream packed = time("lz4 compress (spark.broadcast.compress)", mb, reps, () -> {
            ByteArrayOutputStream out = new ByteArrayOutputStream(bytes.length + (bytes.length >> 4));
            try (OutputStream z = lz4.compressedOutputStream(out)) {
                z.write(bytes);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            return out;
        });
        System.out.printf("  lz4 ratio on the floats: %.3f%n", (double) bytes.length / packed.size());
    }

    private static void optimizer(INDArray flat, long p, double mb, int reps) {
        ParameterSet params = new ParameterSet(List.of(new ParameterSet.Spec("w", new long[] {p}, true)),
                DataType.FLOAT);
        params.flat().assign(flat);
        ParameterSet grads = params.zerosLike();
        AdamW adamw = new AdamW(params, new AdamWConfig(0.9, 0.999, 1e-8, 0.1));
        INDArray g = grads.flat();
        time("AdamW step on the driver (project's optimizer)", mb, reps, () -> {
            g.assign(flat);
            adamw.step(grads, 1e-4);
            return null;
        });
        time("  of which the gradient's assign (subtract it)", mb, reps, () -> g.assign(flat));
        time("ordered add of one slice's gradient (addi)", mb, reps, () -> g.addi(flat));
    }

    private static void roundTrip(String master, String what, Map<String, String> settings, Object payload, double mb,
                                  int reps) {
        SparkConf conf = new SparkConf().setAppName("transfer").setMaster(master).set("spark.ui.enabled", "false")
                .set("spark.ui.showConsoleProgress", "false").set("spark.driver.host", "127.0.0.1")
                .set("spark.driver.bindAddress", "127.0.0.1");
        settings.forEach(conf::set);
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            sc.setLogLevel("ERROR");
            long[] bcast = new long[reps + 1];
            long[] job = new long[reps + 1];
            long[] load = new long[reps + 1];
            long[] destroy = new long[reps + 1];
            for (int r = 0; r <= reps; r++) { // the first round warms up and is left out
                long t0 = System.nanoTime();
                Broadcast<Object> b = sc.broadcast(payload);
                long t1 = System.nanoTime();
                List<Back> back = sc.parallelize(List.of(1), 1).map(new Echo(b)).collect();
                long t2 = System.nanoTime();
                b.destroy();
                long t3 = System.nanoTime();
                bcast[r] = t1 - t0;
                job[r] = t2 - t1;
                load[r] = back.get(0).loadNanos();
                destroy[r] = t3 - t2;
            }
            double tb = median(bcast);
            double tj = median(job);
            System.out.printf("%-48s broadcast %7.3f s  job %7.3f s (executor reads %6.3f s)  destroy %6.3f s"
                            + "  round trip %7.3f s = %7.1f MB/s each way%n", master + " " + what, tb, tj,
                    median(load), median(destroy), tb + tj, 2 * mb / (tb + tj));
        }
    }

    private static double median(long[] v) {
        long[] s = Arrays.copyOfRange(v, 1, v.length);
        Arrays.sort(s);
        return s[s.length / 2] / 1e9;
    }

    private static <T> T time(String what, double mb, int reps, Supplier<T> work) {
        T out = work.get();
        List<Long> t = new ArrayList<>();
        for (int r = 0; r < reps; r++) {
            long t0 = System.nanoTime();
            out = work.get();
            t.add(System.nanoTime() - t0);
        }
        t.sort(null);
        double s = t.get(t.size() / 2) / 1e9;
        System.out.printf("%-48s %8.4f s  %8.1f MB/s%n", what, s, mb / s);
        return out;
    }

    /** The task: reads the broadcast payload and returns it, as a slice returns its gradient. */
    private record Echo(Broadcast<Object> payload) implements Function<Integer, Back> {
        @Override
        public Back call(Integer unused) {
            long t0 = System.nanoTime();
            Object v = payload.value();
            return new Back(v, System.nanoTime() - t0);
        }
    }

    private record Back(Object payload, long loadNanos) implements Serializable {
    }
}
