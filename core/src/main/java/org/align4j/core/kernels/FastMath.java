package org.align4j.core.kernels;

/**
 * float exp and tanh for the CPU kernels' inner loops: {@link Math#exp} costs ~10 ns, which
 * is most of softmax over a vocabulary. exp's relative error stays below 3e-7 over the
 * whole range, tanh's below 1e-6 (1e-7 absolute), checked against {@link Math#exp} in the tests.
 */
final class FastMath {

    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;

    private FastMath() {
    }

    /** e^x, flushing to 0 below -87.3 and to +inf above 88.7. */
    static float exp(float x) {
        if (x < -87.33f) {
            return 0f;
        }
        if (x > 88.72f) {
            return Float.POSITIVE_INFINITY;
        }
        // x = n ln2 + r, |r| <= ln2/2 (Cody-Waite split of ln2 keeps r exact)
        float n = (float) Math.rint(x * LOG2E);
        float r = x - n * LN2_HI - n * LN2_LO;
        // Cephes expf polynomial on the reduced range
        float p = 1.9875691500e-4f;
        p = p * r + 1.3981999507e-3f;
        p = p * r + 8.3334519073e-3f;
        p = p * r + 4.1665795894e-2f;
        p = p * r + 1.6666665459e-1f;
        p = p * r + 5.0000001201e-1f;
        float er = p * r * r + r + 1f;
        if ((int) n > 127) {
            return er * Float.intBitsToFloat(((int) n - 1 + 127) << 23) * 2f;
        }
        int bits = ((int) n + 127) << 23;
        if ((int) n < -126) {
            return er * Float.intBitsToFloat(((int) n + 127 + 64) << 23) * 5.421010862427522e-20f; // 2^-64
        }
        return er * Float.intBitsToFloat(bits);
    }

    /** tanh(x) = 1 - 2 / (e^{2x} + 1), exact at the saturated ends. */
    static float tanh(float x) {
        if (x > 9f) {
            return 1f;
        }
        if (x < -9f) {
            return -1f;
        }
        if (Math.abs(x) < 0.3f) {
            // avoid cancellation near 0: Taylor series to x^9 (next term < 2e-8 relative here)
            float x2 = x * x;
            return x * (1f + x2 * (-0.33333333f + x2 * (0.13333333f + x2 * (-0.053968254f + x2 * 0.021869488f))));
        }
        return 1f - 2f / (exp(2f * x) + 1f);
    }
}
