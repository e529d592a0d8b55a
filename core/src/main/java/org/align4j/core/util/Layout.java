package org.align4j.core.util;

import org.nd4j.linalg.api.ndarray.INDArray;

/** How an INDArray's elements lie in its buffer. */
public final class Layout {

    private Layout() {
    }

    /**
     * True when {@code a}'s elements are one contiguous row-major run (a view counts when its strides
     * follow its shape), so that its buffer can be read or copied as a flat block from its first element.
     */
    public static boolean isContiguousRowMajor(INDArray a) {
        if (a.ordering() != 'c') {
            return false;
        }
        long expected = 1;
        long[] shape = a.shape();
        long[] stride = a.stride();
        for (int d = shape.length - 1; d >= 0; d--) {
            if (shape[d] != 1 && stride[d] != expected) {
                return false;
            }
            expected *= shape[d];
        }
        return true;
    }
}
