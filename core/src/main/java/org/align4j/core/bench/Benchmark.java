package org.align4j.core.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;

import org.align4j.core.generate.Generator;
import org.align4j.core.generate.SamplingConfig;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.loss.LanguageModelLoss;
import org.align4j.core.model.Architecture;
import org.align4j.core.model.DecoderModel;
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
 * (forward, backward, clipping, AdamW), KV-cache generation tokens/s at batch 1 and 8, this
 * machine's SGEMM throughput and the training MFU against it.
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
        double tokensPerS = (double) rows * cfg.steps() / seconds;
        double flopsPerToken = 6.0 * model.parameterCount() + 12.0 * cfg.layers() * cfg.seqLen() * cfg.dModel();
        double trainGflops = flopsPerToken * tokensPerS / 1e9;

        double gen1 = generationTokensPerS(model, 1, cfg, rng);
        progress.accept(String.format("generation batch 1: %.1f tokens/s", gen1));
        double gen8 = generationTokensPerS(model, 8, cfg, rng);
        progress.accept(String.format("generation batch 8: %.1f tokens/s", gen8));
        return new BenchResult(backend, model.parameterCount(), tokensPerS, seconds * 1000 / cfg.steps(), gen1, gen8,
                gemm, trainGflops, trainGflops / gemm, offHeapWarm, offHeapEnd, cfg.steps(), loss);
    }

    private static double trainStep(DecoderModel model, AdamW opt, TokenBatch batch, int[] targets, float[] weights) {
        model.zeroGradients();
        double loss = LanguageModelLoss.forwardBackward(model, batch, targets, weights);
        GradientClipping.clip(model.gradients(), 1.0);
        opt.step(model.gradients(), 3e-4);
        return loss;
    }

    /** Prompts of 16 tokens (or fewer for tiny contexts), then {@code genTokens} greedy tokens each. */
    private static double generationTokensPerS(DecoderModel model, int batch, BenchConfig cfg, SplittableRandom rng) {
        int promptLen = Math.max(1, Math.min(16, cfg.seqLen() - cfg.genTokens()));
        List<int[]> prompts = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            int[] p = new int[promptLen];
            for (int t = 0; t < promptLen; t++) {
                p[t] = rng.nextInt(cfg.vocab());
            }
            prompts.add(p);
        }
        Generator gen = new Generator(model);
        SamplingConfig greedy = SamplingConfig.greedy(cfg.genTokens());
        gen.generate(prompts, greedy, null); // warm up: the JIT compiles the decoding path
        long start = System.nanoTime();
        int produced = 0;
        int rounds = 0;
        do {
            produced += gen.generate(prompts, greedy, null).stream().mapToInt(g -> g.tokenIds().length).sum();
            rounds++;
        } while (System.nanoTime() - start < 2_000_000_000L && rounds < 20);
        return produced / ((System.nanoTime() - start) / 1e9);
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
