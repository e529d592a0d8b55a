package org.align4j.core.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@code bench}'s training peak: after a reset, touching 256 MB of ND4J's off-heap memory raises the
 * peak resident set by at least that much, and freeing it does not lower the peak (Linux only).
 */
class PeakResidentTest {

    @Test
    void aResetPeakCountsOffHeapMemoryTouchedAfterIt() {
        assumeTrue(PeakResident.bytes() > 0, "the system reports no peak resident set (not Linux)");
        PeakResident.reset();
        long before = PeakResident.bytes();
        INDArray big = Nd4j.ones(DataType.FLOAT, 64L * 1024 * 1024); // 256 MB, written
        long during = PeakResident.bytes();
        big.close();
        long after = PeakResident.bytes();
        assertTrue(during - before >= 200L * 1024 * 1024, "the peak grew by " + (during - before) + " bytes");
        // Linux reads the peak as the larger of its high-water mark and the current set, so it may move by
        // the process's small fluctuations; the freed 256 MB stay in it
        assertTrue(after > during - 16L * 1024 * 1024, "freeing memory does not lower the peak: " + after + " < "
                + during);
    }
}
