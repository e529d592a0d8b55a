package org.align4j.core.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Consumer;

import org.align4j.core.generate.Generator;
import org.align4j.core.generate.SamplingConfig;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.kernels.ProfilingKernels;
import org.align4j.core.loss.LanguageModelLoss;
import org.align4j.core.model.Architecture;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.model.KvCache;
import org.align4j.core.model.TokenBatch;
import org.align4j.core.optim.AdamW;
import org.align4j.core.optim.AdamWConfig;
import org.align4j.core.optim.GradientClipping;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Measures, in one process, what a user of a given model shape gets: training tokens/s
 * (forward, backward, clipping, AdamW), KV-cache generation tokens/s at each decoding batch with
 * the fractions of its memory and compute bounds, prefill tokens/s, the sampler's share of a
 * step, this machine's read bandwidth and SGEMM throughput, and the training MFU against it.
 */
public final class Benchmark {

    private final Kernels kernels;
    private final String backend;
    private final Consumer<String> progress;

    public Benchmark(Kernels kernels, String backend, Consumer<String> progress) {
        this.kernels = kernels;
        this.backend = backend;
        this.progress = progress;
    }

    public BenchResult run(BenchConfig cfg) {
        Architecture.Shape shape = new Architecture.Shape(cfg.vocab(), cfg.seqLen(), cfg.dModel(), cfg.layers(),
                cfg.heads(), cfg.kvHeads(), cfg.intermediate(), cfg.tied(), 10000.0);
        DecoderModel model = cfg.arch().randomModel(cfg.arch().config(shape, cfg.vocab() - 1), kernels, cfg.seed());
        progress.accept(String.format("model: %s, %d layers, d_model %d, %d heads (%d key/value), vocab %d: %,d"
                + " parameters; %s", model.family(), cfg.layers(), cfg.dModel(), cfg.heads(), cfg.kvHeads(),
                cfg.vocab(), model.parameterCount(), backend));

        double gemm = gemmGflops();
        progress.accept(String.format("sgemm: %.1f GFLOPS", gemm));

        SplittableRandom rng = new SplittableRandom(cfg.seed());
        int rows = cfg.batchSize() * cfg.seqLen();
        int[][] seqs = new int[cfg.batchSize()][cfg.seqLen()];
        int[] targets = new int[rows];
        for (int b = 0; b < cfg.batchSize(); b++) {
            for (int t = 0; t < cfg.seqLen(); t++) {
                seqs[b][t] = rng.nextInt(cfg.vocab());
            }
        }
        for (int i = 0; i < rows; i++) {
            targets[i] = rng.nextInt(cfg.vocab());
        }
        float[] mask = new float[rows];
        java.util.Arrays.fill(mask, 1f);
        float[] weights = LanguageModelLoss.meanWeights(mask);
        TokenBatch batch = TokenBatch.of(seqs);
        model.setGradientCheckpointing(cfg.gradientCheckpointing());
        PeakResident.reset();
        AdamW opt = new AdamW(model.parameters(), new AdamWConfig(0.9, 0.95, 1e-8, 0.1));
        double loss = 0;
        for (int s = 0; s < cfg.warmupSteps(); s++) {
            loss = trainStep(model, opt, batch, targets, weights);
        }
        long offHeapWarm = residentBytes();
        long start = System.nanoTime();
        for (int s = 0; s < cfg.steps(); s++) {
            loss = trainStep(model, opt, batch, targets, weights);
            if ((s + 1) % Math.max(1, cfg.steps() / 5) == 0) {
                double el = (System.nanoTime() - start) / 1e9;
                progress.accept(String.format("train step %d/%d: loss %.4f, %.0f tokens/s", s + 1, cfg.steps(), loss,
                        (double) rows * (s + 1) / el));
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        long offHeapEnd = residentBytes();
        long trainPeak = PeakResident.bytes();
        progress.accept(String.format("training: peak resident memory %s%s", trainPeak < 0 ? "unknown"
                : String.format("%.0f MiB", trainPeak / 1048576.0), cfg.gradientCheckpointing()
                ? " (activations recomputed)" : ""));
        double tokensPerS = (double) rows * cfg.steps() / seconds;
        double flopsPerToken = 6.0 * model.parameterCount() + 12.0 * cfg.layers() * cfg.seqLen() * cfg.dModel();
        double trainGflops = flopsPerToken * tokensPerS / 1e9;

        if (kernels instanceof ProfilingKernels profiler) {
            // the training step's kernels now, so that the totals printed at the end are decoding's alone
            progress.accept("kernel time over training:");
            printProfile(profiler);
            profiler.reset();
        }
        double bandwidth = readGBps();
        progress.accept(String.format("read bandwidth: %.1f GB/s (one-row product over a 256 MB matrix)", bandwidth));
        List<BenchResult.Decode> decode = new ArrayList<>();
        for (int b : cfg.decodeBatches()) {
            double tps = generationTokensPerS(new Generator(model), b, SamplingConfig.greedy(cfg.genTokens()), cfg,
                    rng);
            BenchResult.Decode d = decodeBounds(model, cfg, b, tps, bandwidth, gemm);
            decode.add(d);
            progress.accept(String.format("generation batch %d: %.1f tokens/s, %.0f%% of the memory bound"
                    + " (%.0f MB a step), %.0f%% of the compute bound", b, tps, 100 * d.memoryBoundFraction(),
                    d.bytesPerStep() / 1e6, 100 * d.computeBoundFraction()));
        }
        double prefill = prefillTokensPerS(model, cfg, rng);
        progress.accept(String.format("prefill: %.0f tokens/s (%d x %d prompt tokens through the KV cache)", prefill,
                cfg.batchSize(), cfg.seqLen()));
        double sampling = samplingShare(model, cfg, rng);
        progress.accept(String.format("sampler at batch 8 (temperature 1, top-p 0.95): %.1f%% of the time",
                100 * sampling));
        return new BenchResult(backend, model.parameterCount(), tokensPerS, seconds * 1000 / cfg.steps(), decode,
                prefill, sampling, bandwidth, gemm, trainGflops, trainGflops / gemm, offHeapWarm, offHeapEnd,
                trainPeak, cfg.steps(), loss);
    }

    /**
     * A decoding step reads every weight once (the learned positions only a row per sequence) and
     * the KV cache up to the current length, here taken at the generation's mean length; it computes
     * 2 FLOPs per weight per token plus 4 per cached key and model width per layer (scores and output).
     */
    private static BenchResult.Decode decodeBounds(DecoderModel model, BenchConfig cfg, int batch, double tps,
                                                   double gbps, double gflops) {
        long weights = model.parameterCount();
        if (model.parameters().names().contains("wpe.weight")) {
            weights -= model.parameters().get("wpe.weight").length();
        }
        double keys = promptLength(cfg) + cfg.genTokens() / 2.0;
        long kvWidth = (long) cfg.kvHeads() * (cfg.dModel() / cfg.heads());
        double bytes = 4.0 * weights + 4.0 * 2 * cfg.layers() * batch * keys * kvWidth;
        double flopsPerToken = 2.0 * weights + 4.0 * cfg.layers() * keys * cfg.dModel();
        double memoryBound = batch * gbps * 1e9 / bytes;
        double computeBound = gflops * 1e9 / flopsPerToken;
        return new BenchResult.Decode(batch, tps, bytes, tps / memoryBound, tps / computeBound);
    }

    /** The prompt's forward through the KV cache: the training batch of full-length sequences, best of three. */
    private static double prefillTokensPerS(DecoderModel model, BenchConfig cfg, SplittableRandom rng) {
        int b = cfg.batchSize();
        int t = cfg.seqLen();
        int[] tokens = new int[b * t];
        int[] positions = new int[b * t];
        float[] mask = new float[b * t];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = rng.nextInt(cfg.vocab());
            positions[i] = i % t;
        }
        java.util.Arrays.fill(mask, 1f);
        double best = Double.MAX_VALUE;
        for (int rep = 0; rep < 4; rep++) { // the first warms up
            KvCache cache = model.newCache(b, t);
            cache.setMasks(mask, t);
            long t0 = System.nanoTime();
            model.forwardCached(cache, tokens, positions, t);
            double sec = (System.nanoTime() - t0) / 1e9;
            if (rep > 0) {
                best = Math.min(best, sec);
            }
        }
        return b * t / best;
    }

    /** Share of generation time that the sampler takes at batch 8 with temperature 1 and top-p 0.95 (median of 3). */
    private static double samplingShare(DecoderModel model, BenchConfig cfg, SplittableRandom rng) {
        Generator gen = new Generator(model);
        SamplingConfig sampled = new SamplingConfig(cfg.genTokens(), 1.0, 0, 0.95, cfg.seed(), 0, Set.of(),
                List.of());
        List<int[]> prompts = prompts(8, cfg, rng);
        // greedy runs never called the sampler: let the JIT compile it before timing
        long warm = System.nanoTime();
        do {
            gen.generate(prompts, sampled, null);
        } while (System.nanoTime() - warm < DECODE_WARMUP_NANOS);
        List<Double> shares = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            long t0 = System.nanoTime();
            gen.generate(prompts, sampled, null);
            shares.add((double) gen.samplingNanos() / (System.nanoTime() - t0));
        }
        shares.sort(null);
        return shares.get(1);
    }

    /** Untimed decoding before each batch's timed generations: long enough for the JIT's second tier. */
    static final long DECODE_WARMUP_NANOS = 3_000_000_000L;

    /** Read bandwidth as decoding sees it: the kernels' one-row product over a 256 MB weight, best of several. */
    double readGBps() {
        int n = 8192;
        INDArray w = Nd4j.ones(DataType.FLOAT, n, n);
        INDArray x = Nd4j.ones(DataType.FLOAT, 1, n);
        INDArray y = Nd4j.create(DataType.FLOAT, 1, n);
        double best = Double.MAX_VALUE;
        for (int rep = 0; rep < 8; rep++) {
            long t0 = System.nanoTime();
            kernels.matmulForward(y, x, w, true, null);
            best = Math.min(best, (System.nanoTime() - t0) / 1e9);
        }
        w.close();
        return 4.0 * n * n / best / 1e9;
    }

    private static double trainStep(DecoderModel model, AdamW opt, TokenBatch batch, int[] targets, float[] weights) {
        model.zeroGradients();
        double loss = LanguageModelLoss.forwardBackward(model, batch, targets, weights);
        GradientClipping.clip(model.gradients(), 1.0);
        opt.step(model.gradients(), 3e-4);
        return loss;
    }

    private void printProfile(ProfilingKernels profiler) {
        profiler.totals().entrySet().stream()
                .sorted((a, b) -> Long.compare(b.getValue()[0], a.getValue()[0]))
                .forEach(e -> progress.accept(String.format("  %-20s %9.1f ms  %7d calls", e.getKey(),
                        e.getValue()[0] / 1e6, e.getValue()[1])));
    }

    private static int promptLength(BenchConfig cfg) {
        return Math.max(1, Math.min(16, cfg.seqLen() - cfg.genTokens()));
    }

    private static List<int[]> prompts(int batch, BenchConfig cfg, SplittableRandom rng) {
        int promptLen = promptLength(cfg);
        List<int[]> prompts = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            int[] p = new int[promptLen];
            for (int t = 0; t < promptLen; t++) {
                p[t] = rng.nextInt(cfg.vocab());
            }
            prompts.add(p);
        }
        return prompts;
    }

    /**
     * Prompts of 16 tokens (or fewer for tiny contexts), then {@code genTokens} tokens each: the median
     * of up to 5 timed generations (at least one, up to about 2 s in all) after {@link #DECODE_WARMUP_NANOS}
     * of untimed ones.
     */
    private static double generationTokensPerS(Generator gen, int batch, SamplingConfig sampling, BenchConfig cfg,
                                               SplittableRandom rng) {
        List<int[]> prompts = prompts(batch, cfg, rng);
        // warm up: the JIT compiles a decoding step's small loops (the residual add, the norms) only after
        // thousands of calls, and until then they run interpreted at 20-50x their compiled time (an 8 x 384
        // add: about 100 us, then 5 us); one 64-token generation is far too few, so warm up by time
        long warm = System.nanoTime();
        do {
            gen.generate(prompts, sampling, null);
        } while (System.nanoTime() - warm < DECODE_WARMUP_NANOS);
        List<Double> rates = new ArrayList<>();
        long start = System.nanoTime();
        do {
            long t0 = System.nanoTime();
            int produced = gen.generate(prompts, sampling, null).stream().mapToInt(g -> g.tokenIds().length).sum();
            rates.add(produced / ((System.nanoTime() - t0) / 1e9));
        } while (System.nanoTime() - start < 2_000_000_000L && rates.size() < 5);
        rates.sort(null);
        return rates.get(rates.size() / 2);
    }

    /** Best SGEMM rate over a few large shapes, through the kernels' own matmul path. */
    double gemmGflops() {
        double best = 0;
        int[][] shapes = {{1024, 1024, 1024}, {2048, 768, 3072}};
        for (int[] s : shapes) {
            INDArray a = Nd4j.rand(DataType.FLOAT, s[0], s[1]);
            INDArray w = Nd4j.rand(DataType.FLOAT, s[1], s[2]);
            INDArray out = Nd4j.create(DataType.FLOAT, s[0], s[2]);
            kernels.matmulForward(out, a, w, false, null);
            for (int rep = 0; rep < 3; rep++) {
                long t0 = System.nanoTime();
                int n = 0;
                do {
                    kernels.matmulForward(out, a, w, false, null);
                    n++;
                } while (System.nanoTime() - t0 < 300_000_000L);
                double sec = (System.nanoTime() - t0) / 1e9 / n;
                best = Math.max(best, 2.0 * s[0] * s[1] * s[2] / sec / 1e9);
            }
        }
        return best;
    }

    /** Resident memory of the process after a GC: ND4J's off-heap buffers plus the touched Java heap. */
    public static long residentBytes() {
        System.gc();
        return Pointer.physicalBytes();
    }
}
