package org.align4j.core.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Named tensors that are views into one flat buffer, so that the optimizer, gradient clipping
 * and checkpointing each touch a single array. The same layout serves parameters and their
 * gradients.
 */
public final class ParameterSet {

    /** One tensor of the layout: its HF name, shape, and whether weight decay applies. */
    public record Spec(String name, long[] shape, boolean decay) {
        public long size() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    private final List<Spec> specs;
    private final INDArray flat;
    private final Map<String, INDArray> views = new LinkedHashMap<>();
    private final Map<String, Long> offsets = new LinkedHashMap<>();

    public ParameterSet(List<Spec> specs, DataType type) {
        this(specs, Nd4j.zeros(type, total(specs)));
    }

    private ParameterSet(List<Spec> specs, INDArray flat) {
        this.specs = List.copyOf(specs);
        this.flat = flat;
        long offset = 0;
        for (Spec s : specs) {
            views.put(s.name(), flat.get(NDArrayIndex.interval(offset, offset + s.size())).reshape(s.shape()));
            offsets.put(s.name(), offset);
            offset += s.size();
        }
    }

    private static long total(List<Spec> specs) {
        long total = 0;
        for (Spec s : specs) {
            total += s.size();
        }
        return total;
    }

    /** The first {@code count} tensors, as a set sharing this one's memory (the trainable part of a model). */
    public ParameterSet prefix(int count) {
        if (count == specs.size()) {
            return this;
        }
        List<Spec> head = specs.subList(0, count);
        return new ParameterSet(head, flat.get(NDArrayIndex.interval(0, total(head))));
    }

    /** A zeroed set with the same layout (for gradients or optimizer moments). */
    public ParameterSet zerosLike() {
        return new ParameterSet(specs, flat.dataType());
    }

    public INDArray flat() {
        return flat;
    }

    public List<Spec> specs() {
        return Collections.unmodifiableList(specs);
    }

    public INDArray get(String name) {
        INDArray v = views.get(name);
        if (v == null) {
            throw new IllegalArgumentException("no parameter named '" + name + "'");
        }
        return v;
    }

    /** The view of {@code name}, or null when the set has no such tensor. */
    public INDArray getOrNull(String name) {
        return views.get(name);
    }

    public boolean has(String name) {
        return views.containsKey(name);
    }

    public long offset(String name) {
        return offsets.get(name);
    }

    public long size() {
        return flat.length();
    }

    /** 0/1 mask over the flat buffer: 1 where weight decay applies. */
    public INDArray decayMask() {
        INDArray mask = Nd4j.zeros(flat.dataType(), flat.length());
        for (Spec s : specs) {
            if (s.decay()) {
                long o = offsets.get(s.name());
                mask.get(NDArrayIndex.interval(o, o + s.size())).assign(1);
            }
        }
        return mask;
    }

    /** Names in layout order. */
    public List<String> names() {
        List<String> n = new ArrayList<>();
        specs.forEach(s -> n.add(s.name()));
        return n;
    }
}
