package org.align4j.core.kernels;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;

import org.align4j.core.util.Layout;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Direct access to the off-heap memory of a FLOAT INDArray (contiguous row-major, or a view of one). */
final class Mem {

    private Mem() {
    }

    /** Pointer to the array's first element (ND4J's view buffers already point there). */
    static FloatPointer pointer(INDArray a) {
        check(a);
        return new FloatPointer(a.data().addressPointer());
    }

    /** FloatBuffer over the array's elements, index 0 at its first element. */
    static FloatBuffer floats(INDArray a) {
        check(a);
        return new FloatPointer(a.data().addressPointer()).capacity(a.length()).asBuffer();
    }

    /** The array's bytes, little-endian (the Vector API's loads), index 0 at its first element; under 2 GB. */
    static ByteBuffer bytes(INDArray a) {
        check(a);
        return new BytePointer(a.data().addressPointer()).capacity(4 * a.length()).asByteBuffer()
                .order(ByteOrder.LITTLE_ENDIAN);
    }

    private static void check(INDArray a) {
        if (a.dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException("fast kernels take FLOAT arrays, got " + a.dataType());
        }
        if (!Layout.isContiguousRowMajor(a)) {
            throw new IllegalArgumentException("fast kernels take contiguous row-major arrays, got strides "
                    + Arrays.toString(a.stride()) + " for shape " + Arrays.toString(a.shape()));
        }
    }
}
