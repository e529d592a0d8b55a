package org.align4j.core.model;

import java.util.HashMap;
import java.util.Map;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Named activation buffers allocated once and reused across forwards: each name owns one flat
 * store that grows to the largest shape asked of it, and each request returns a contiguous view
 * of its first elements in the asked shape. Batches of varying length then cost no allocation
 * once the longest has been seen (llm.c's buffers-allocated-once, for shapes known only per batch).
 */
final class ScratchArrays {

    private final DataType type;
    private final Map<String, INDArray> stores = new HashMap<>();

    ScratchArrays(DataType type) {
        this.type = type;
    }

    /** A view {@code shape} of the store named {@code name}; its contents are whatever was there. */
    INDArray get(String name, long... shape) {
        long size = 1;
        for (long d : shape) {
            size *= d;
        }
        INDArray store = stores.get(name);
        if (store == null || store.length() < size) {
            store = Nd4j.zeros(type, size);
            stores.put(name, store);
        }
        INDArray flat = store.length() == size ? store : store.get(NDArrayIndex.interval(0, size));
        return flat.reshape(shape);
    }

    /** As {@link #get}, the view zeroed. */
    INDArray zeros(String name, long... shape) {
        return get(name, shape).assign(0);
    }
}
