package org.align4j.train.scale;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.Arrays;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** The wire form of weights and gradients: every bit kept, little-endian float32, chunks and views handled. */
class RawFloatsTest {

    /** Values whose bits a conversion could lose: signed zero, subnormals, infinities, a NaN payload, extremes. */
    private static final float[] AWKWARD = {1.0f, -0.0f, 0.0f, Float.MIN_VALUE, -Float.MIN_NORMAL / 3,
            Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.intBitsToFloat(0x7fc00123), Float.MAX_VALUE,
            -1.5e-30f, 3.1415927f, -2.0f, 0.1f};

    private static int[] bits(float[] f) {
        int[] b = new int[f.length];
        for (int i = 0; i < f.length; i++) {
            b[i] = Float.floatToRawIntBits(f[i]);
        }
        return b;
    }

    @Test
    void bytesAreLittleEndianFloat32InChunksOfTheGivenSize() {
        RawFloats r = RawFloats.of(Nd4j.createFromArray(AWKWARD), 5);
        byte[][] chunks = r.chunks();
        assertEquals(3, chunks.length, "13 floats in chunks of 5: 5, 5, 3");
        assertEquals(20, chunks[0].length);
        assertEquals(12, chunks[2].length);
        // 1.0f is 0x3f800000, low byte first; -2.0f (index 11) is 0xc0000000
        assertArrayEquals(new byte[] {0, 0, (byte) 0x80, 0x3f}, Arrays.copyOf(chunks[0], 4));
        assertArrayEquals(new byte[] {0, 0, 0, (byte) 0xc0}, Arrays.copyOfRange(chunks[2], 4, 8));
        assertEquals(13, r.length());
        assertEquals(52, r.bytes());
    }

    @Test
    void aViewAtAnOffsetGoesOutAndComesBackBitForBitThroughJavaSerialisation() throws Exception {
        // as a trainable prefix and a gradient buffer: views into one flat buffer, not at its start
        INDArray whole = Nd4j.zeros(DataType.FLOAT, 40);
        whole.get(NDArrayIndex.interval(7, 20)).assign(Nd4j.createFromArray(AWKWARD));
        INDArray source = whole.get(NDArrayIndex.interval(7, 20));
        RawFloats r = RawFloats.of(source, 4);

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ObjectOutputStream o = new ObjectOutputStream(out)) {
            o.writeObject(r);
        }
        RawFloats back;
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(out.toByteArray()))) {
            back = (RawFloats) in.readObject();
        }
        INDArray target = Nd4j.zeros(DataType.FLOAT, 30);
        back.copyTo(target.get(NDArrayIndex.interval(11, 24)));

        assertArrayEquals(bits(AWKWARD), bits(target.get(NDArrayIndex.interval(11, 24)).toFloatVector()));
        float[] t = target.toFloatVector();
        for (int i = 0; i < 30; i++) {
            if (i < 11 || i >= 24) {
                assertEquals(0, Float.floatToRawIntBits(t[i]), "element " + i + " outside the view is untouched");
            }
        }
    }

    @Test
    void aStridedArrayTravelsInRowMajorOrderAndLandsInOneOfAnotherLayout() {
        // 3x4 row-major 0..11, transposed: a 4x3 view whose elements are not one run of memory
        INDArray m = Nd4j.createFromArray(new float[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}).reshape(3, 4);
        RawFloats r = RawFloats.of(m.transpose(), 5);
        INDArray flat = Nd4j.zeros(DataType.FLOAT, 12);
        r.copyTo(flat);
        assertArrayEquals(new float[] {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}, flat.toFloatVector());

        INDArray f = Nd4j.create(DataType.FLOAT, new long[] {4, 3}, 'f');
        RawFloats.of(flat).copyTo(f);
        assertArrayEquals(new float[] {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}, f.dup('c').reshape(12).toFloatVector());
    }

    @Test
    void aWrongLengthIsRefused() {
        RawFloats r = RawFloats.of(Nd4j.createFromArray(AWKWARD));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> r.copyTo(Nd4j.zeros(DataType.FLOAT, 12)));
        assertEquals("13 floats for an array of 12", e.getMessage());
    }
}
