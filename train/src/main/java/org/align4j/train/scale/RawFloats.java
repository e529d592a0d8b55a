package org.align4j.train.scale;

import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

import org.align4j.core.util.Layout;
import org.bytedeco.javacpp.BytePointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A tensor's elements as little-endian float32 bytes, the form in which weights go out to executors and
 * gradients come back. Java serialisation writes a {@code byte[]} as whole blocks where it writes a
 * {@code float[]} element by element, and on the CPU backend the bytes move in and out of ND4J's off-heap
 * buffer with one memory copy (where {@code toFloatVector} duplicates the array first and
 * {@code createFromArray} + {@code assign} copies twice). The bytes are held in chunks of at most
 * {@value #CHUNK_FLOATS} floats, so no single array nears Java's 2 GB limit.
 */
public final class RawFloats implements Serializable {

    private static final long serialVersionUID = 1L;

    /** Floats per chunk: 256 MB, well under the 2 GB a Java array or a Spark buffer can hold. */
    static final int CHUNK_FLOATS = 1 << 26;

    private static final boolean RAW_COPY = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN
            && Nd4j.getBackend().getClass().getSimpleName().toLowerCase().contains("cpu");

    private final long length;
    private final byte[][] chunks;

    private RawFloats(long length, byte[][] chunks) {
        this.length = length;
        this.chunks = chunks;
    }

    /** A copy of {@code a}'s elements in row-major order. */
    public static RawFloats of(INDArray a) {
        return of(a, CHUNK_FLOATS);
    }

    static RawFloats of(INDArray a, int chunkFloats) {
        long n = a.length();
        byte[][] chunks = new byte[(int) ((n + chunkFloats - 1) / chunkFloats)][];
        if (rawCopy(a)) {
            BytePointer src = new BytePointer(a.data().addressPointer()).capacity(4 * n);
            for (int c = 0; c < chunks.length; c++) {
                chunks[c] = new byte[4 * (int) Math.min(chunkFloats, n - (long) c * chunkFloats)];
                src.position(4L * c * chunkFloats).get(chunks[c]);
            }
        } else {
            // another backend (CUDA keeps the elements on the device), type or layout: ND4J's own copy, converted
            float[] f = a.dup('c').castTo(DataType.FLOAT).data().asFloat();
            for (int c = 0; c < chunks.length; c++) {
                int from = c * chunkFloats;
                int len = Math.min(chunkFloats, f.length - from);
                chunks[c] = new byte[4 * len];
                ByteBuffer.wrap(chunks[c]).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(f, from, len);
            }
        }
        return new RawFloats(n, chunks);
    }

    /** The bytes as they travel (for tests). */
    byte[][] chunks() {
        return chunks;
    }

    /** How many floats. */
    public long length() {
        return length;
    }

    /** How many bytes travel. */
    public long bytes() {
        return 4 * length;
    }

    /** Writes the floats into {@code a}, which must have as many elements. */
    public void copyTo(INDArray a) {
        if (a.length() != length) {
            throw new IllegalArgumentException(length + " floats for an array of " + a.length());
        }
        if (rawCopy(a)) {
            BytePointer dst = new BytePointer(a.data().addressPointer()).capacity(4 * length);
            long at = 0;
            for (byte[] chunk : chunks) {
                dst.position(at).put(chunk);
                at += chunk.length;
            }
        } else {
            float[] f = new float[Math.toIntExact(length)];
            int at = 0;
            for (byte[] chunk : chunks) {
                FloatBuffer fb = ByteBuffer.wrap(chunk).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
                int len = fb.remaining();
                fb.get(f, at, len);
                at += len;
            }
            a.assign(Nd4j.createFromArray(f).reshape(a.shape()).castTo(a.dataType()));
        }
    }

    /** True when {@code a}'s elements are one run of native little-endian floats on the host that a memory copy can move. */
    private static boolean rawCopy(INDArray a) {
        return RAW_COPY && a.dataType() == DataType.FLOAT && Layout.isContiguousRowMajor(a);
    }
}
