package org.align4j.core.kernels;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Kernels made only of ND4J operations, so they run on every ND4J backend (this is what runs
 * on nd4j-cuda) and in DOUBLE precision for finite-difference checks. Clear rather than fast:
 * it is the control that the CPU fast path is held to.
 */
public final class GenericKernels implements Kernels {

    static final double GELU_SCALE = Math.sqrt(2.0 / Math.PI);
    static final double GELU_CUBIC = 0.044715;
    /** Added to scores of invisible keys; exp of it underflows to exactly 0 in fp32 and fp64. */
    private static final double MASKED = -1e30;

    @Override
    public String name() {
        return "generic";
    }

    @Override
    public void upload(INDArray target, float[] values) {
        target.assign(Nd4j.create(values, target.shape(), DataType.FLOAT).castTo(target.dataType()));
    }

    @Override
    public void download(INDArray src, float[] dst) {
        float[] values = src.castTo(DataType.FLOAT).dup('c').data().asFloat();
        System.arraycopy(values, 0, dst, 0, values.length);
    }

    @Override
    public void embeddingForward(INDArray out, int[] tokens, int[] positions, INDArray wte, INDArray wpe) {
        out.assign(Nd4j.pullRows(wte, 1, tokens));
        if (wpe != null) {
            out.addi(Nd4j.pullRows(wpe, 1, positions));
        }
    }

    @Override
    public void embeddingBackward(INDArray dwte, INDArray dwpe, INDArray dout, int[] tokens, int[] positions) {
        for (int i = 0; i < tokens.length; i++) {
            INDArray row = dout.getRow(i);
            if (dwte != null) {
                dwte.getRow(tokens[i]).addi(row);
            }
            if (dwpe != null) {
                dwpe.getRow(positions[i]).addi(row);
            }
        }
    }

    @Override
    public void matmulForward(INDArray out, INDArray inp, INDArray w, boolean transposedWeight, INDArray bias) {
        Nd4j.gemm(inp, w, out, false, transposedWeight, 1.0, 0.0);
        if (bias != null) {
            out.addiRowVector(bias);
        }
    }

    @Override
    public void matmulBackward(INDArray dinp, INDArray dw, INDArray db, INDArray dout, INDArray inp, INDArray w,
                               boolean transposedWeight) {
        if (dinp != null) {
            Nd4j.gemm(dout, w, dinp, false, !transposedWeight, 1.0, 0.0);
        }
        if (dw != null && transposedWeight) {
            Nd4j.gemm(dout, inp, dw, true, false, 1.0, 1.0);
        } else if (dw != null) {
            Nd4j.gemm(inp, dout, dw, true, false, 1.0, 1.0);
        }
        if (db != null) {
            db.addi(dout.sum(0));
        }
    }

    @Override
    public void layerNormForward(INDArray out, INDArray mean, INDArray rstd, INDArray inp, INDArray gain,
                                 INDArray bias, double eps) {
        long n = inp.rows();
        INDArray m = inp.mean(1).reshape(n, 1);
        INDArray centered = inp.subColumnVector(m);
        INDArray var = centered.mul(centered).mean(1).reshape(n, 1);
        INDArray r = Transforms.pow(var.addi(eps), -0.5, false);
        out.assign(centered.muliColumnVector(r).muliRowVector(gain).addiRowVector(bias));
        mean.assign(m.reshape(n));
        rstd.assign(r.reshape(n));
    }

    @Override
    public void layerNormBackward(INDArray dinp, INDArray dgain, INDArray dbias, INDArray dout, INDArray inp,
                                  INDArray gain, INDArray mean, INDArray rstd) {
        long n = inp.rows();
        INDArray r = rstd.reshape(n, 1);
        INDArray xhat = inp.subColumnVector(mean.reshape(n, 1)).muliColumnVector(r);
        INDArray dxhat = dout.mulRowVector(gain);
        if (dgain != null) {
            dgain.addi(dout.mul(xhat).sum(0));
        }
        if (dbias != null) {
            dbias.addi(dout.sum(0));
        }
        INDArray meanD = dxhat.mean(1).reshape(n, 1);
        INDArray meanDx = dxhat.mul(xhat).mean(1).reshape(n, 1);
        dinp.addi(dxhat.subiColumnVector(meanD).subi(xhat.muliColumnVector(meanDx)).muliColumnVector(r));
    }

    @Override
    public void geluForward(INDArray out, INDArray inp) {
        INDArray t = Transforms.tanh(inp.mul(inp).muli(GELU_CUBIC).addi(1.0).muli(inp).muli(GELU_SCALE), false);
        out.assign(t.addi(1.0).muli(inp).muli(0.5));
    }

    @Override
    public void geluBackward(INDArray dinp, INDArray inp, INDArray dout) {
        INDArray x2 = inp.mul(inp);
        INDArray t = Transforms.tanh(x2.mul(GELU_CUBIC).addi(1.0).muli(inp).muli(GELU_SCALE), false);
        INDArray du = x2.muli(3 * GELU_CUBIC).addi(1.0).muli(GELU_SCALE);
        // d/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) du
        INDArray sech2 = t.mul(t).rsubi(1.0);
        INDArray grad = sech2.muli(du).muli(inp).addi(t).addi(1.0).muli(0.5);
        dinp.assign(grad.muli(dout));
    }

    @Override
    public void rmsNormForward(INDArray out, INDArray rstd, INDArray inp, INDArray gain, double eps) {
        long n = inp.rows();
        INDArray r = Transforms.pow(inp.mul(inp).mean(1).reshape(n, 1).addi(eps), -0.5, false);
        out.assign(inp.mulColumnVector(r).muliRowVector(gain));
        rstd.assign(r.reshape(n));
    }

    @Override
    public void rmsNormBackward(INDArray dinp, INDArray dgain, INDArray dout, INDArray inp, INDArray gain,
                                INDArray rstd) {
        long n = inp.rows();
        INDArray r = rstd.reshape(n, 1);
        INDArray xhat = inp.mulColumnVector(r);
        if (dgain != null) {
            dgain.addi(dout.mul(xhat).sum(0));
        }
        INDArray d = dout.mulRowVector(gain);
        INDArray meanDx = d.mul(xhat).mean(1).reshape(n, 1);
        dinp.addi(d.subi(xhat.muliColumnVector(meanDx)).muliColumnVector(r));
    }

    @Override
    public void rope(INDArray x, int[] positions, int heads, int headSize, double[] invFreq, boolean inverse) {
        int half = headSize / 2;
        long n = x.rows();
        double[] angle = new double[(int) n * half];
        for (int row = 0; row < n; row++) {
            for (int i = 0; i < half; i++) {
                angle[row * half + i] = positions[row] * invFreq[i];
            }
        }
        INDArray a = Nd4j.create(angle, new long[] {n, half}, DataType.DOUBLE).castTo(x.dataType());
        INDArray cos = Transforms.cos(a, true);
        INDArray sin = Transforms.sin(a, true);
        if (inverse) {
            sin.negi();
        }
        for (int h = 0; h < heads; h++) {
            INDArray lo = x.get(NDArrayIndex.all(), NDArrayIndex.interval(h * headSize, h * headSize + half));
            INDArray hi = x.get(NDArrayIndex.all(), NDArrayIndex.interval(h * headSize + half, (h + 1) * headSize));
            INDArray newLo = lo.mul(cos).subi(hi.mul(sin));
            INDArray newHi = hi.mul(cos).addi(lo.mul(sin));
            lo.assign(newLo);
            hi.assign(newHi);
        }
    }

    @Override
    public void swigluForward(INDArray out, INDArray gate, INDArray up) {
        out.assign(gate.mul(Transforms.sigmoid(gate, true)).muli(up));
    }

    @Override
    public void swigluBackward(INDArray dgate, INDArray dup, INDArray dout, INDArray gate, INDArray up) {
        INDArray sig = Transforms.sigmoid(gate, true);
        INDArray silu = gate.mul(sig);
        // silu'(g) = sigmoid(g) (1 + g (1 - sigmoid(g)))
        INDArray dsilu = sig.rsub(1.0).muli(gate).addi(1.0).muli(sig);
        INDArray gradGate = dout.mul(up).muli(dsilu);
        dup.assign(dout.mul(silu));
        dgate.assign(gradGate);
    }

    @Override
    public void scale(INDArray a, double s) {
        a.muli(s);
    }

    @Override
    public void add(INDArray out, INDArray a, INDArray b) {
        if (out == a) {
            out.addi(b);
        } else if (out == b) {
            out.addi(a);
        } else {
            out.assign(a).addi(b);
        }
    }

    // ---------------------------------------------------------------- attention

    /** Column block {@code part} (0 q, 1 k, 2 v) of qkv as {@code [B, H, T, hs]}. */
    private static INDArray headsOf(INDArray qkv, int part, int batch, int time, int heads) {
        long c = qkv.columns() / 3;
        INDArray block = qkv.get(NDArrayIndex.all(), NDArrayIndex.interval(part * c, (part + 1) * c));
        return splitHeads(block, batch, time, heads);
    }

    /** {@code [B*T, C]} to {@code [B, H, T, hs]}. */
    private static INDArray splitHeads(INDArray x, int batch, int time, int heads) {
        long c = x.columns();
        return x.dup('c').reshape(batch, time, heads, c / heads).permute(0, 2, 1, 3).dup('c');
    }

    /** {@code [B, H, T, hs]} to {@code [B*T, C]}. */
    private static INDArray mergeHeads(INDArray x) {
        long[] s = x.shape();
        return x.permute(0, 2, 1, 3).dup('c').reshape(s[0] * s[2], s[1] * s[3]);
    }

    /** Additive mask {@code [B, H, Tq, Tk]}: 0 where visible, {@link #MASKED} elsewhere. */
    private static INDArray additiveMask(DataType type, INDArray keyMask, int batch, int heads, int steps,
                                         int keys, int start) {
        double[] m = new double[batch * heads * steps * keys];
        int idx = 0;
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                for (int s = 0; s < steps; s++) {
                    int i = start + s;
                    for (int j = 0; j < keys; j++) {
                        boolean visible = j <= i && (j == i || keyMask == null || keyMask.getDouble(b, j) != 0);
                        m[idx++] = visible ? 0.0 : MASKED;
                    }
                }
            }
        }
        return Nd4j.create(m, new long[] {batch, heads, steps, keys}, DataType.DOUBLE).castTo(type);
    }

    private static INDArray softmaxLastDim(INDArray scores) {
        INDArray probs = scores.ulike();
        Nd4j.exec(new SoftMax(scores, probs, scores.rank() - 1));
        return probs;
    }

    @Override
    public void attentionForward(INDArray out, INDArray probs, INDArray qkv, INDArray keyMask, int batch, int time,
                                 int heads) {
        INDArray q = headsOf(qkv, 0, batch, time, heads);
        INDArray k = headsOf(qkv, 1, batch, time, heads);
        INDArray v = headsOf(qkv, 2, batch, time, heads);
        double scale = 1.0 / Math.sqrt(q.size(3));
        INDArray scores = Nd4j.matmul(q, k, null, false, true, false).muli(scale)
                .addi(additiveMask(qkv.dataType(), keyMask, batch, heads, time, time, 0));
        INDArray p = softmaxLastDim(scores);
        probs.assign(p);
        out.assign(mergeHeads(Nd4j.matmul(p, v)));
    }

    @Override
    public void attentionBackward(INDArray dqkv, INDArray dout, INDArray probs, INDArray qkv, int batch, int time,
                                  int heads) {
        INDArray q = headsOf(qkv, 0, batch, time, heads);
        INDArray k = headsOf(qkv, 1, batch, time, heads);
        INDArray v = headsOf(qkv, 2, batch, time, heads);
        INDArray dy = splitHeads(dout, batch, time, heads);
        double scale = 1.0 / Math.sqrt(q.size(3));
        INDArray dv = Nd4j.matmul(probs, dy, null, true, false, false);
        INDArray dp = Nd4j.matmul(dy, v, null, false, true, false);
        // softmax backward: dS = P * (dP - Σ_j dP_j P_j)
        long rows = (long) batch * heads * time;
        INDArray dp2 = dp.reshape(rows, time);
        INDArray p2 = probs.reshape(rows, time);
        INDArray dot = dp2.mul(p2).sum(1).reshape(rows, 1);
        INDArray ds = dp2.subiColumnVector(dot).muli(p2).muli(scale).reshape(batch, heads, time, time);
        INDArray dq = Nd4j.matmul(ds, k);
        INDArray dk = Nd4j.matmul(ds, q, null, true, false, false);
        long c = dout.columns();
        dqkv.get(NDArrayIndex.all(), NDArrayIndex.interval(0, c)).assign(mergeHeads(dq));
        dqkv.get(NDArrayIndex.all(), NDArrayIndex.interval(c, 2 * c)).assign(mergeHeads(dk));
        dqkv.get(NDArrayIndex.all(), NDArrayIndex.interval(2 * c, 3 * c)).assign(mergeHeads(dv));
    }

    @Override
    public void attentionWithCache(INDArray out, INDArray qkv, INDArray kCache, INDArray vCache, INDArray keyMask,
                                   int batch, int steps, int start, int heads) {
        long c = out.columns();
        int keys = start + steps;
        for (int b = 0; b < batch; b++) {
            INDArray rows = qkv.get(NDArrayIndex.interval((long) b * steps, (long) (b + 1) * steps), NDArrayIndex.all());
            kCache.get(NDArrayIndex.point(b), NDArrayIndex.interval(start, keys), NDArrayIndex.all())
                    .assign(rows.get(NDArrayIndex.all(), NDArrayIndex.interval(c, 2 * c)));
            vCache.get(NDArrayIndex.point(b), NDArrayIndex.interval(start, keys), NDArrayIndex.all())
                    .assign(rows.get(NDArrayIndex.all(), NDArrayIndex.interval(2 * c, 3 * c)));
        }
        INDArray q = headsOf(qkv, 0, batch, steps, heads);
        INDArray k = splitHeads(kCache.get(NDArrayIndex.all(), NDArrayIndex.interval(0, keys), NDArrayIndex.all())
                .dup('c').reshape((long) batch * keys, c), batch, keys, heads);
        INDArray v = splitHeads(vCache.get(NDArrayIndex.all(), NDArrayIndex.interval(0, keys), NDArrayIndex.all())
                .dup('c').reshape((long) batch * keys, c), batch, keys, heads);
        double scale = 1.0 / Math.sqrt(q.size(3));
        INDArray scores = Nd4j.matmul(q, k, null, false, true, false).muli(scale)
                .addi(additiveMask(qkv.dataType(), keyMask, batch, heads, steps, keys, start));
        out.assign(mergeHeads(Nd4j.matmul(softmaxLastDim(scores), v)));
    }

    @Override
    public void attentionWithCacheGrouped(INDArray out, INDArray q, INDArray k, INDArray v, INDArray kCache,
                                          INDArray vCache, INDArray keyMask, int batch, int steps, int start,
                                          int heads, int kvHeads) {
        long kvw = kCache.size(2);
        int keys = start + steps;
        for (int b = 0; b < batch; b++) {
            INDArrayIndex rows = NDArrayIndex.interval((long) b * steps, (long) (b + 1) * steps);
            kCache.get(NDArrayIndex.point(b), NDArrayIndex.interval(start, keys), NDArrayIndex.all())
                    .assign(k.get(rows, NDArrayIndex.all()));
            vCache.get(NDArrayIndex.point(b), NDArrayIndex.interval(start, keys), NDArrayIndex.all())
                    .assign(v.get(rows, NDArrayIndex.all()));
        }
        int group = heads / kvHeads;
        INDArray qh = splitHeads(q, batch, steps, heads);
        // [B, kvHeads, keys, hs], each key/value head repeated for its group: [B, heads, keys, hs]
        INDArray kh = splitHeads(kCache.get(NDArrayIndex.all(), NDArrayIndex.interval(0, keys), NDArrayIndex.all())
                .dup('c').reshape((long) batch * keys, kvw), batch, keys, kvHeads).repeat(1, group);
        INDArray vh = splitHeads(vCache.get(NDArrayIndex.all(), NDArrayIndex.interval(0, keys), NDArrayIndex.all())
                .dup('c').reshape((long) batch * keys, kvw), batch, keys, kvHeads).repeat(1, group);
        double scale = 1.0 / Math.sqrt(qh.size(3));
        INDArray scores = Nd4j.matmul(qh, kh, null, false, true, false).muli(scale)
                .addi(additiveMask(q.dataType(), keyMask, batch, heads, steps, keys, start));
        out.assign(mergeHeads(Nd4j.matmul(softmaxLastDim(scores), vh)));
    }

    // ---------------------------------------------------------------- losses

    /** Row-wise log-softmax. */
    private static INDArray logSoftmax(INDArray logits) {
        long n = logits.rows();
        INDArray shifted = logits.subColumnVector(logits.max(1).reshape(n, 1));
        INDArray lse = Transforms.log(Transforms.exp(shifted, true).sum(1), false).reshape(n, 1);
        return shifted.subiColumnVector(lse);
    }

    @Override
    public double crossEntropy(INDArray logits, int[] targets, float[] weights, INDArray dlogits) {
        INDArray logp = logSoftmax(logits);
        INDArray grad = Transforms.exp(logp, true);
        double loss = 0;
        double[] w = new double[targets.length];
        for (int i = 0; i < targets.length; i++) {
            w[i] = weights[i];
            if (weights[i] != 0f) {
                loss -= weights[i] * logp.getDouble(i, targets[i]);
                grad.putScalar(i, targets[i], grad.getDouble(i, targets[i]) - 1.0);
            }
        }
        grad.muliColumnVector(Nd4j.create(w, new long[] {w.length, 1}, DataType.DOUBLE).castTo(grad.dataType()));
        dlogits.assign(grad);
        return loss;
    }

    @Override
    public void argmaxRows(INDArray logits, int[] out) {
        INDArray idx = logits.argMax(1);
        for (int i = 0; i < out.length; i++) {
            out[i] = idx.getInt(i);
        }
    }

    @Override
    public void logProbsOf(INDArray logits, int[] targets, double[] out) {
        INDArray logp = logSoftmax(logits);
        for (int i = 0; i < targets.length; i++) {
            out[i] = logp.getDouble(i, targets[i]);
        }
    }
}
