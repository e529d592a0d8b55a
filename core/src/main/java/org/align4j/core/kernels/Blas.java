package org.align4j.core.kernels;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas_nolapack;

/**
 * Row-major {@code cblas_sgemm} on ND4J's off-heap buffers with element offsets. Calling
 * OpenBLAS directly avoids ND4J's per-call overhead, which dominates small GEMMs
 * (ARCHITECTURE.md: 64^3 runs at 18.7 GFLOPS through Nd4j.gemm and 40.9 through cblas).
 */
final class Blas {

    private Blas() {
    }

    /** {@code C[cOff..] = alpha * op(A) op(B) + beta * C}, all row-major. */
    static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                      FloatPointer a, long aOff, int lda, FloatPointer b, long bOff, int ldb,
                      float beta, FloatPointer c, long cOff, int ldc) {
        a.position(aOff);
        b.position(bOff);
        c.position(cOff);
        openblas_nolapack.cblas_sgemm(openblas_nolapack.CblasRowMajor,
                transA ? openblas_nolapack.CblasTrans : openblas_nolapack.CblasNoTrans,
                transB ? openblas_nolapack.CblasTrans : openblas_nolapack.CblasNoTrans,
                m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    /** {@code y = alpha * op(A) x + beta * y} for row-major {@code A} of {@code m x n}, unit strides. */
    static void sgemv(boolean transA, int m, int n, float alpha, FloatPointer a, long aOff, int lda,
                      FloatPointer x, long xOff, float beta, FloatPointer y, long yOff) {
        a.position(aOff);
        x.position(xOff);
        y.position(yOff);
        openblas_nolapack.cblas_sgemv(openblas_nolapack.CblasRowMajor,
                transA ? openblas_nolapack.CblasTrans : openblas_nolapack.CblasNoTrans, m, n, alpha, a, lda, x, 1,
                beta, y, 1);
    }
}
