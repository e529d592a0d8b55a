package org.align4j.core.model;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Frozen weight matrices stored quantized, as QLoRA's base: one absmax scale per block of 64
 * values, and per value either an int8 ({@code round(127 x / absmax)}) or a 4-bit index into
 * the NormalFloat4 code (Dettmers et al., 2023: the 16 quantiles of N(0, 1) rescaled to [-1, 1],
 * with an exact zero), two to a byte. A matrix is dequantized into a float array when a layer
 * needs it, in the forward and again in the backward; the scales themselves stay fp32 (no double
 * quantization).
 */
public final class QuantizedWeights {

    /** The storage format of the frozen base. */
    public enum Kind { INT8, NF4 }

    public static final int BLOCK = 64;

    /** NF4's code values, as bitsandbytes defines them. */
    static final float[] NF4 = {-1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
            -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f, 0.07958029955625534f,
            0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f, 0.44070982933044434f,
            0.5626170039176941f, 0.7229568362236023f, 1.0f};

    private record Entry(long[] shape, int length, byte[] codes, float[] scales) {
    }

    private final Kind kind;
    private final Map<String, Entry> entries = new LinkedHashMap<>();

    public QuantizedWeights(Kind kind) {
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }

    public boolean has(String name) {
        return entries.containsKey(name);
    }

    /** Quantizes and keeps {@code values} (row-major, {@code shape}). */
    public void put(String name, long[] shape, float[] values) {
        int n = values.length;
        int blocks = (n + BLOCK - 1) / BLOCK;
        float[] scales = new float[blocks];
        byte[] codes = new byte[kind == Kind.INT8 ? n : (n + 1) / 2];
        IntStream.range(0, blocks).parallel().forEach(b -> {
            int from = b * BLOCK;
            int to = Math.min(n, from + BLOCK);
            float absmax = 0;
            for (int i = from; i < to; i++) {
                absmax = Math.max(absmax, Math.abs(values[i]));
            }
            scales[b] = absmax;
            float inv = absmax == 0 ? 0 : 1 / absmax;
            for (int i = from; i < to; i++) {
                float x = values[i] * inv;
                if (kind == Kind.INT8) {
                    codes[i] = (byte) Math.round(x * 127);
                } else {
                    int q = nearestNf4(x);
                    // blocks are even-sized, so a byte never spans two blocks (threads write disjoint bytes)
                    codes[i >> 1] = (i & 1) == 0 ? (byte) ((codes[i >> 1] & 0xF0) | q)
                            : (byte) ((codes[i >> 1] & 0x0F) | (q << 4));
                }
            }
        });
        entries.put(name, new Entry(shape.clone(), n, codes, scales));
    }

    static int nearestNf4(float x) {
        int best = 0;
        float bestDist = Float.MAX_VALUE;
        for (int c = 0; c < NF4.length; c++) {
            float d = Math.abs(x - NF4[c]);
            if (d < bestDist) {
                bestDist = d;
                best = c;
            }
        }
        return best;
    }

    public long[] shape(String name) {
        return entries.get(name).shape().clone();
    }

    /** Writes the dequantized values of {@code name} into {@code out} (at least as long). */
    public void dequantize(String name, float[] out) {
        Entry e = entries.get(name);
        int n = e.length();
        int blocks = e.scales().length;
        IntStream.range(0, blocks).parallel().forEach(b -> {
            int from = b * BLOCK;
            int to = Math.min(n, from + BLOCK);
            float s = e.scales()[b];
            if (kind == Kind.INT8) {
                float unit = s / 127;
                for (int i = from; i < to; i++) {
                    out[i] = e.codes()[i] * unit;
                }
            } else {
                for (int i = from; i < to; i++) {
                    int q = (e.codes()[i >> 1] >> ((i & 1) * 4)) & 0x0F;
                    out[i] = NF4[q] * s;
                }
            }
        });
    }

    /** Bytes held: codes and scales. */
    public long bytes() {
        long b = 0;
        for (Entry e : entries.values()) {
            b += e.codes().length + 4L * e.scales().length;
        }
        return b;
    }

    /** Values held. */
    public long size() {
        long n = 0;
        for (Entry e : entries.values()) {
            n += e.length();
        }
        return n;
    }
}
