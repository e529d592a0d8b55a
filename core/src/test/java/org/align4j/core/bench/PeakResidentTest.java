package org.align4j.core.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@code bench}'s training peak (Linux only): a reset starts the peak at the resident set of the moment,
 * below an earlier, higher peak; memory touched after it raises the peak with the resident set; freeing
 * it does not lower the peak. Compared with the resident set itself ({@code VmRSS}), not with the bytes
 * allocated: the allocator may hand back memory that is already resident, and this VM's kernel may
 * reclaim pages, so how far the resident set moves is the system's business; that the peak follows it
 * is ours.
 */
class PeakResidentTest {

    private static final long MB = 1024 * 1024;

    @Test
    void aResetPeakFollowsTheResidentSetFromThen() {
        assumeTrue(PeakResident.bytes() > 0, "the system reports no peak resident set (not Linux)");
        INDArray first = Nd4j.ones(DataType.FLOAT, 64L * 1024 * 1024); // 256 MB, written
        long high = PeakResident.bytes();
        first.close();
        PeakResident.reset();
        long before = PeakResident.bytes();
        long rssBefore = PeakResident.currentBytes();
        // the reset peak starts at the resident set of the moment (Linux reads the peak as the larger of its
        // high-water mark and the current set, which may move by the process's small fluctuations)
        assertTrue(Math.abs(before - rssBefore) < 16 * MB, "reset peak " + before + " vs resident " + rssBefore);
        if (PeakResident.currentBytes() < high - 200 * MB) {
            assertTrue(before < high - 150 * MB, "the reset did not lower the peak: " + before + " after " + high);
        }
        INDArray big = Nd4j.ones(DataType.FLOAT, 64L * 1024 * 1024);
        long rssDuring = PeakResident.currentBytes();
        long during = PeakResident.bytes();
        big.close();
        long after = PeakResident.bytes();
        assertTrue(during >= rssDuring - 16 * MB, "the peak " + during + " is below the resident set " + rssDuring);
        assertTrue(during - before >= rssDuring - rssBefore - 16 * MB, "the peak grew by " + (during - before)
                + " bytes, the resident set by " + (rssDuring - rssBefore));
        assertTrue(after > during - 16 * MB, "freeing memory does not lower the peak: " + after + " < " + during);
    }
}
