package org.align4j.core.kernels;

import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

import org.nd4j.linalg.api.ndarray.INDArray;

/** Wraps kernels and adds up the wall time of each kernel method, for {@code bench --profile}. */
public final class ProfilingKernels implements Kernels {

    private final Kernels inner;
    private final Map<String, long[]> totals = new TreeMap<>();

    public ProfilingKernels(Kernels inner) {
        this.inner = inner;
    }

    private void time(String name, Runnable r) {
        long t0 = System.nanoTime();
        r.run();
        long[] slot = totals.computeIfAbsent(name, k -> new long[2]);
        slot[0] += System.nanoTime() - t0;
        slot[1]++;
    }

    private <T> T time(String name, Supplier<T> r) {
        long t0 = System.nanoTime();
        T v = r.get();
        long[] slot = totals.computeIfAbsent(name, k -> new long[2]);
        slot[0] += System.nanoTime() - t0;
        slot[1]++;
        return v;
    }

    /** Kernel name to {total nanoseconds, calls}. */
    public Map<String, long[]> totals() {
        return totals;
    }

    public void reset() {
        totals.clear();
    }

    @Override
    public String name() {
        return inner.name() + "+profile";
    }

    @Override
    public void upload(INDArray target, float[] values) {
        time("upload", () -> inner.upload(target, values));
    }

    @Override
    public void download(INDArray src, float[] dst) {
        time("download", () -> inner.download(src, dst));
    }

    @Override
    public void embeddingForward(INDArray out, int[] tokens, int[] positions, INDArray wte, INDArray wpe) {
        time("embedding.forward", () -> inner.embeddingForward(out, tokens, positions, wte, wpe));
    }

    @Override
    public void embeddingBackward(INDArray dwte, INDArray dwpe, INDArray dout, int[] tokens, int[] positions) {
        time("embedding.backward", () -> inner.embeddingBackward(dwte, dwpe, dout, tokens, positions));
    }

    @Override
    public void matmulForward(INDArray out, INDArray inp, INDArray w, boolean transposedWeight, INDArray bias) {
        time(transposedWeight ? "lmhead.forward" : "matmul.forward",
                () -> inner.matmulForward(out, inp, w, transposedWeight, bias));
    }

    @Override
    public void matmulBackward(INDArray dinp, INDArray dw, INDArray db, INDArray dout, INDArray inp, INDArray w,
                               boolean transposedWeight) {
        time(transposedWeight ? "lmhead.backward" : "matmul.backward",
                () -> inner.matmulBackward(dinp, dw, db, dout, inp, w, transposedWeight));
    }

    @Override
    public void layerNormForward(INDArray out, INDArray mean, INDArray rstd, INDArray inp, INDArray gain,
                                 INDArray bias, double eps) {
        time("layernorm.forward", () -> inner.layerNormForward(out, mean, rstd, inp, gain, bias, eps));
    }

    @Override
    public void layerNormBackward(INDArray dinp, INDArray dgain, INDArray dbias, INDArray dout, INDArray inp,
                                  INDArray gain, INDArray mean, INDArray rstd) {
        time("layernorm.backward", () -> inner.layerNormBackward(dinp, dgain, dbias, dout, inp, gain, mean, rstd));
    }

    @Override
    public void geluForward(INDArray out, INDArray inp) {
        time("gelu.forward", () -> inner.geluForward(out, inp));
    }

    @Override
    public void geluBackward(INDArray dinp, INDArray inp, INDArray dout) {
        time("gelu.backward", () -> inner.geluBackward(dinp, inp, dout));
    }

    @Override
    public void rmsNormForward(INDArray out, INDArray rstd, INDArray inp, INDArray gain, double eps) {
        time("rmsnorm.forward", () -> inner.rmsNormForward(out, rstd, inp, gain, eps));
    }

    @Override
    public void rmsNormBackward(INDArray dinp, INDArray dgain, INDArray dout, INDArray inp, INDArray gain,
                                INDArray rstd) {
        time("rmsnorm.backward", () -> inner.rmsNormBackward(dinp, dgain, dout, inp, gain, rstd));
    }

    @Override
    public void rope(INDArray x, int[] positions, int heads, int headSize, double[] invFreq, boolean inverse) {
        time("rope", () -> inner.rope(x, positions, heads, headSize, invFreq, inverse));
    }

    @Override
    public void swigluForward(INDArray out, INDArray gate, INDArray up) {
        time("swiglu.forward", () -> inner.swigluForward(out, gate, up));
    }

    @Override
    public void swigluBackward(INDArray dgate, INDArray dup, INDArray dout, INDArray gate, INDArray up) {
        time("swiglu.backward", () -> inner.swigluBackward(dgate, dup, dout, gate, up));
    }

    @Override
    public void scale(INDArray a, double s) {
        time("scale", () -> inner.scale(a, s));
    }

    @Override
    public void add(INDArray out, INDArray a, INDArray b) {
        time("residual.add", () -> inner.add(out, a, b));
    }

    @Override
    public void attentionForward(INDArray out, INDArray probs, INDArray qkv, INDArray keyMask, int batch, int time,
                                 int heads) {
        time("attention.forward", () -> inner.attentionForward(out, probs, qkv, keyMask, batch, time, heads));
    }

    @Override
    public void attentionBackward(INDArray dqkv, INDArray dout, INDArray probs, INDArray qkv, int batch, int time,
                                  int heads) {
        time("attention.backward", () -> inner.attentionBackward(dqkv, dout, probs, qkv, batch, time, heads));
    }

    @Override
    public void attentionWithCache(INDArray out, INDArray qkv, INDArray kCache, INDArray vCache, INDArray keyMask,
                                   int batch, int steps, int start, int heads) {
        time("attention.cached", () -> inner.attentionWithCache(out, qkv, kCache, vCache, keyMask, batch, steps, start,
                heads));
    }

    @Override
    public void attentionWithCacheGrouped(INDArray out, INDArray q, INDArray k, INDArray v, INDArray kCache,
                                          INDArray vCache, INDArray keyMask, int batch, int steps, int start,
                                          int heads, int kvHeads) {
        time("attention.cached", () -> inner.attentionWithCacheGrouped(out, q, k, v, kCache, vCache, keyMask, batch,
                steps, start, heads, kvHeads));
    }

    @Override
    public double crossEntropy(INDArray logits, int[] targets, float[] weights, INDArray dlogits) {
        return time("cross_entropy", () -> inner.crossEntropy(logits, targets, weights, dlogits));
    }

    @Override
    public void argmaxRows(INDArray logits, int[] out) {
        time("argmax", () -> inner.argmaxRows(logits, out));
    }

    @Override
    public void logProbsOf(INDArray logits, int[] targets, double[] out) {
        time("logprobs", () -> inner.logProbsOf(logits, targets, out));
    }
}
