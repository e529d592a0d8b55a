package org.align4j.core.kernels;

/**
 * float exp and tanh for the CPU kernels' inner loops: {@link Math#exp} costs ~10 ns, which
 * is most of softmax over a vocabulary. exp's relative error stays below 3e-7 on
 * [-87, 88], tanh's below 1e-6 (1e-7 absolute), checked against {@link Math#exp} in the tests.
 * Public for the sampler, whose exp over a vocabulary per row was most of its time.
 */
public final class FastMath {

    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;

    private FastMath() {
    }

    /**
     * e^x for x in [-87.3, 88.3] (inputs outside are clamped: e^-87.3 is about 1e-38), branch-free
     * so that loops calling it vectorize. Rounding to the nearest integer uses the 1.5*2^23
     * trick; 2^n is built from the exponent bits.
     */
    public static float exp(float x) {
        float c = Math.max(-87.3f, Math.min(88.3f, x));
        float t = c * LOG2E + 12582912f;
        int n = Float.floatToRawIntBits(t) - 0x4B400000;
        float nf = t - 12582912f;
        // x = n ln2 + r, |r| <= ln2/2 (Cody-Waite split of ln2 keeps r exact)
        float r = c - nf * LN2_HI - nf * LN2_LO;
        // Cephes expf polynomial on the reduced range
        float p = 1.9875691500e-4f;
        p = p * r + 1.3981999507e-3f;
        p = p * r + 8.3334519073e-3f;
        p = p * r + 4.1665795894e-2f;
        p = p * r + 1.6666665459e-1f;
        p = p * r + 5.0000001201e-1f;
        float er = p * r * r + r + 1f;
        return er * Float.intBitsToFloat((n + 127) << 23);
    }

    /**
     * tanh as a branch-free rational function (Eigen's float tanh: odd degree-13 numerator over
     * even degree-6 denominator on [-7.9, 7.9], saturating outside), so the JIT can vectorize
     * loops that call it.
     */
    static float tanh(float x) {
        float c = Math.max(-7.90531110763549805f, Math.min(7.90531110763549805f, x));
        float x2 = c * c;
        float p = x2 * -2.76076847742355e-16f + 2.00018790482477e-13f;
        p = x2 * p + -8.60467152213735e-11f;
        p = x2 * p + 5.12229709037114e-08f;
        p = x2 * p + 1.48572235717979e-05f;
        p = x2 * p + 6.37261928875436e-04f;
        p = x2 * p + 4.89352455891786e-03f;
        p = c * p;
        float q = x2 * 1.19825839466702e-06f + 1.18534705686654e-04f;
        q = x2 * q + 2.26843463243900e-03f;
        q = x2 * q + 4.89352518554385e-03f;
        return p / q;
    }
}
