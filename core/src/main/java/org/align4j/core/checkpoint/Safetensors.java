package org.align4j.core.checkpoint;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.util.AtomicFiles;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The safetensors format: an 8-byte little-endian header length, a JSON header naming each
 * tensor's dtype, shape and byte range, then the raw little-endian data. The reader trusts
 * nothing in the file: header length, offsets, sizes and shapes are checked against each
 * other and the file size before anything is allocated.
 */
public final class Safetensors {

    /** Header larger than this is refused (real headers are kilobytes). */
    static final long MAX_HEADER_BYTES = 100L << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    private Safetensors() {
    }

    /** One tensor's entry in the header; offsets are relative to the start of the data section. */
    public record TensorInfo(String name, String dtype, long[] shape, long begin, long end) {
        public long elements() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    /** Bytes per element of the dtypes we read. */
    static int dtypeSize(String dtype) {
        return switch (dtype) {
            case "F64", "I64", "U64" -> 8;
            case "F32", "I32", "U32" -> 4;
            case "F16", "BF16", "I16", "U16" -> 2;
            case "I8", "U8", "BOOL" -> 1;
            default -> -1;
        };
    }

    /** An open safetensors file. */
    public static final class Reader implements AutoCloseable {
        private final Path path;
        private final FileChannel channel;
        private final long dataStart;
        private final Map<String, TensorInfo> tensors;
        private final Map<String, String> metadata;

        private Reader(Path path, FileChannel channel, long dataStart, Map<String, TensorInfo> tensors,
                       Map<String, String> metadata) {
            this.path = path;
            this.channel = channel;
            this.dataStart = dataStart;
            this.tensors = tensors;
            this.metadata = metadata;
        }

        public Path path() {
            return path;
        }

        public Map<String, TensorInfo> tensors() {
            return Collections.unmodifiableMap(tensors);
        }

        public Map<String, String> metadata() {
            return Collections.unmodifiableMap(metadata);
        }

        /** Reads a floating-point tensor (F32, F16, BF16 or F64) as float values in row-major order. */
        public float[] readFloats(String name) throws IOException {
            TensorInfo t = tensors.get(name);
            if (t == null) {
                throw new IOException(path + ": no tensor named '" + name + "'");
            }
            long bytes = t.end() - t.begin();
            if (t.elements() > Integer.MAX_VALUE - 8) {
                throw new IOException(path + ": tensor '" + name + "' has too many elements for one array");
            }
            ByteBuffer buf = ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
            long pos = dataStart + t.begin();
            while (buf.hasRemaining()) {
                int n = channel.read(buf, pos);
                if (n < 0) {
                    throw new IOException(path + ": file ended inside tensor '" + name + "'");
                }
                pos += n;
            }
            buf.flip();
            float[] out = new float[(int) t.elements()];
            switch (t.dtype()) {
                case "F32" -> buf.asFloatBuffer().get(out);
                case "F64" -> {
                    for (int i = 0; i < out.length; i++) {
                        out[i] = (float) buf.getDouble();
                    }
                }
                case "F16" -> {
                    for (int i = 0; i < out.length; i++) {
                        out[i] = HalfFloats.halfToFloat(buf.getShort());
                    }
                }
                case "BF16" -> {
                    for (int i = 0; i < out.length; i++) {
                        out[i] = Float.intBitsToFloat((buf.getShort() & 0xffff) << 16);
                    }
                }
                default -> throw new IOException(path + ": tensor '" + name + "' has dtype " + t.dtype()
                        + ", expected F32, F16, BF16 or F64");
            }
            return out;
        }

        /** Reads a tensor into an existing array of the same shape (any floating data type). */
        public void readInto(String name, INDArray target) throws IOException {
            TensorInfo t = tensors.get(name);
            if (t == null) {
                throw new IOException(path + ": no tensor named '" + name + "'");
            }
            if (!java.util.Arrays.equals(t.shape(), target.shape())) {
                throw new IOException(path + ": tensor '" + name + "' has shape " + java.util.Arrays.toString(t.shape())
                        + ", expected " + java.util.Arrays.toString(target.shape()));
            }
            INDArray values = Nd4j.createFromArray(readFloats(name)).reshape(target.shape());
            target.assign(values.castTo(target.dataType()));
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    /** Opens and validates a safetensors file; the data itself is read lazily. */
    public static Reader open(Path path) throws IOException {
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
        try {
            long size = ch.size();
            if (size < 8) {
                throw new IOException(path + ": not a safetensors file: " + size + " bytes, shorter than the"
                        + " 8-byte header length");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0, path);
            long headerLen = lenBuf.flip().getLong();
            if (headerLen <= 0 || headerLen > size - 8) {
                throw new IOException(path + ": corrupt or truncated: header length " + Long.toUnsignedString(headerLen)
                        + " does not fit in a file of " + size + " bytes");
            }
            if (headerLen > MAX_HEADER_BYTES) {
                throw new IOException(path + ": header of " + headerLen + " bytes exceeds the " + MAX_HEADER_BYTES
                        + "-byte limit");
            }
            ByteBuffer header = ByteBuffer.allocate((int) headerLen);
            readFully(ch, header, 8, path);
            String json = new String(header.array(), StandardCharsets.UTF_8);
            JsonNode root;
            try {
                root = JSON.readTree(json);
            } catch (com.fasterxml.jackson.core.JacksonException e) {
                throw new IOException(path + ": corrupt header: not valid JSON (" + e.getOriginalMessage() + ")", e);
            }
            if (root == null || !root.isObject()) {
                throw new IOException(path + ": corrupt header: expected a JSON object");
            }
            long dataLen = size - 8 - headerLen;
            Map<String, TensorInfo> tensors = new LinkedHashMap<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            Iterator<Map.Entry<String, JsonNode>> it = root.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("__metadata__")) {
                    e.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                    continue;
                }
                tensors.put(e.getKey(), parseEntry(path, e.getKey(), e.getValue(), dataLen));
            }
            checkNoOverlap(path, tensors);
            return new Reader(path, ch, 8 + headerLen, tensors, metadata);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private static TensorInfo parseEntry(Path path, String name, JsonNode n, long dataLen) throws IOException {
        String where = path + ": tensor '" + name + "': ";
        if (!n.isObject() || !n.has("dtype") || !n.has("shape") || !n.has("data_offsets")) {
            throw new IOException(where + "entry must have dtype, shape and data_offsets");
        }
        String dtype = n.get("dtype").asText();
        int esize = dtypeSize(dtype);
        if (esize < 0) {
            throw new IOException(where + "unknown dtype '" + dtype + "'");
        }
        JsonNode shapeNode = n.get("shape");
        JsonNode offs = n.get("data_offsets");
        if (!shapeNode.isArray() || !offs.isArray() || offs.size() != 2) {
            throw new IOException(where + "shape must be an array and data_offsets a pair");
        }
        long[] shape = new long[shapeNode.size()];
        long elements = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.canConvertToLong() || d.asLong() < 0) {
                throw new IOException(where + "bad dimension " + d + " in shape");
            }
            shape[i] = d.asLong();
            try {
                elements = Math.multiplyExact(elements, shape[i]);
            } catch (ArithmeticException overflow) {
                throw new IOException(where + "shape " + shapeNode + " is too large");
            }
        }
        long begin = offs.get(0).asLong(-1);
        long end = offs.get(1).asLong(-1);
        if (!offs.get(0).canConvertToLong() || !offs.get(1).canConvertToLong() || begin < 0 || end < begin) {
            throw new IOException(where + "bad data_offsets " + offs);
        }
        if (end > dataLen) {
            throw new IOException(where + "data_offsets " + offs + " run past the end of the data (" + dataLen
                    + " bytes): the file is truncated or corrupt");
        }
        if (elements > Long.MAX_VALUE / 8 || end - begin != elements * esize) {
            throw new IOException(where + "shape " + shapeNode + " of " + dtype + " needs " + elements * esize
                    + " bytes but data_offsets give " + (end - begin));
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static void checkNoOverlap(Path path, Map<String, TensorInfo> tensors) throws IOException {
        List<TensorInfo> sorted = new ArrayList<>(tensors.values());
        sorted.sort((a, b) -> Long.compare(a.begin(), b.begin()));
        for (int i = 1; i < sorted.size(); i++) {
            TensorInfo prev = sorted.get(i - 1);
            TensorInfo cur = sorted.get(i);
            if (cur.begin() < prev.end()) {
                throw new IOException(path + ": tensors '" + prev.name() + "' and '" + cur.name() + "' overlap");
            }
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos, Path path) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) {
                throw new IOException(path + ": file is truncated");
            }
            pos += n;
        }
    }

    /** Writes tensors as F32 (in the given order) atomically. */
    public static void write(Path path, Map<String, INDArray> tensors, Map<String, String> metadata)
            throws IOException {
        write(path, tensors, metadata, "F32");
    }

    /** Writes F32, or BF16 rounded to nearest even as PyTorch converts ({@code dtype} "F32" or "BF16"). */
    public static void write(Path path, Map<String, INDArray> tensors, Map<String, String> metadata, String dtype)
            throws IOException {
        boolean bf16 = switch (dtype) {
            case "F32" -> false;
            case "BF16" -> true;
            default -> throw new IllegalArgumentException("dtype " + dtype + ": F32 or BF16");
        };
        int width = bf16 ? 2 : 4;
        ObjectNode header = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, INDArray> e : tensors.entrySet()) {
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", dtype);
            var shape = t.putArray("shape");
            for (long d : e.getValue().shape()) {
                shape.add(d);
            }
            long bytes = e.getValue().length() * width;
            t.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] headerBytes = JSON.writeValueAsBytes(header);
        // pad the header with spaces so the data starts 8-byte aligned, as the reference writer does
        int padded = (headerBytes.length + 7) / 8 * 8;
        byte[] h = java.util.Arrays.copyOf(headerBytes, padded);
        java.util.Arrays.fill(h, headerBytes.length, padded, (byte) ' ');
        AtomicFiles.write(path, out -> {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length);
            out.write(len.array());
            out.write(h);
            for (INDArray a : tensors.values()) {
                float[] values = a.dup('c').castTo(DataType.FLOAT).data().asFloat();
                ByteBuffer b = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
                for (float v : values) {
                    if (b.remaining() < width) {
                        out.write(b.array(), 0, b.position());
                        b.clear();
                    }
                    if (bf16) {
                        b.putShort(toBf16(v));
                    } else {
                        b.putFloat(v);
                    }
                }
                out.write(b.array(), 0, b.position());
            }
        });
    }

    /** float to bfloat16 bits, round to nearest even (NaN stays NaN). */
    static short toBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }
}
