package org.align4j.core.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.checkpoint.Safetensors;
import org.align4j.core.kernels.CpuKernels;
import org.align4j.core.kernels.GenericKernels;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.model.TokenBatch;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** What every PyTorch golden-fixture test needs: both kernel sets, fixture arrays, a relative comparison. */
public final class GoldenFixtures {

    private GoldenFixtures() {
    }

    /** The generic ND4J-op kernels and the CPU fast path: every fixture holds for both. */
    public static Stream<Kernels> kernels() {
        return Stream.of(new GenericKernels(), new CpuKernels(new GenericKernels(), 2));
    }

    public static int[] ints(JsonNode n) {
        int[] a = new int[n.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = n.get(i).asInt();
        }
        return a;
    }

    public static float[] floats(JsonNode n) {
        float[] a = new float[n.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) n.get(i).asDouble();
        }
        return a;
    }

    public static double[] doubles(JsonNode n) {
        double[] a = new double[n.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = n.get(i).asDouble();
        }
        return a;
    }

    /** The right-padded batch a fixture describes: {@code batch}, {@code time}, {@code tokens}, {@code key_mask}. */
    public static TokenBatch tokenBatch(JsonNode meta) {
        int b = meta.get("batch").asInt();
        int t = meta.get("time").asInt();
        int[] positions = new int[b * t];
        for (int i = 0; i < positions.length; i++) {
            positions[i] = i % t;
        }
        return new TokenBatch(b, t, ints(meta.get("tokens")), positions, floats(meta.get("key_mask")));
    }

    /** max |expected - actual| within {@code rel} times the largest |expected|. */
    /**
     * Every gradient of {@code model}'s trainable tensors against the fixture's {@code grad.NAME},
     * within {@code rel} of its largest entry; returns how many were checked.
     */
    public static int assertGradients(DecoderModel model, Safetensors.Reader expected, double rel)
            throws IOException {
        int checked = 0;
        for (String name : model.trainableParameters().names()) {
            INDArray g = model.gradients().get(name);
            INDArray want = Nd4j.create(DataType.FLOAT, g.shape());
            expected.readInto("grad." + name, want);
            assertRelClose("grad " + name, want, g, rel);
            checked++;
        }
        return checked;
    }

    public static void assertRelClose(String what, INDArray expected, INDArray actual, double rel) {
        double scale = expected.amaxNumber().doubleValue();
        double diff = expected.castTo(DataType.DOUBLE).sub(actual.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
        assertTrue(diff <= rel * scale, what + ": max |diff| " + diff + " > " + rel + " * " + scale);
    }
}
