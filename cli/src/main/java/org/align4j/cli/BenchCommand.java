package org.align4j.cli;

import java.util.Arrays;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.backend.Backend;
import org.align4j.core.bench.BenchConfig;
import org.align4j.core.bench.BenchResult;
import org.align4j.core.bench.Benchmark;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.kernels.ProfilingKernels;
import org.align4j.core.model.Architecture;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "bench", mixinStandardHelpOptions = true, subcommands = ServeBenchCommand.class,
        description = {"Measure training and generation speed of a random model of the given family and shape.",
                "Reports training tokens/s (forward, backward, AdamW); KV-cache generation tokens/s at each decoding",
                "batch with the fractions of its memory bound (weights and KV cache read per step over the measured",
                "read bandwidth) and compute bound (over the measured SGEMM peak); prefill tokens/s; the sampler's",
                "share of a step; and training MFU."},
        footer = {"", "Example:",
                "  align4j bench --layers 6 --d-model 384 --heads 6 --seq-len 256 --batch-size 8 --vocab 8192 --steps 20",
                "  align4j bench --preset smollm2-135m --seq-len 256 --batch-size 4 --steps 5"})
final class BenchCommand implements Callable<Integer> {

    /** Shapes of published models, to compare with their reference implementations. */
    enum Preset {
        SMOLLM2_135M;

        @Override
        public String toString() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }

    @Mixin
    ArchitectureOptions architecture;
    @Option(names = "--preset", paramLabel = "NAME", description = "a published model's shape, overriding --arch,"
            + " --layers, --d-model, --heads, --kv-heads, --intermediate-size and --vocab: ${COMPLETION-CANDIDATES}"
            + " (SmolLM2-135M: llama, 30 layers, 576 wide, 9 heads over 3 key/value heads, SwiGLU 1536, vocabulary"
            + " 49,152, tied)")
    Preset preset;
    @Range(min = 1, max = 1024)
    @Option(names = "--layers", defaultValue = "6", description = "transformer blocks (default ${DEFAULT-VALUE})")
    int layers;
    @Range(min = 1, max = 65536)
    @Option(names = "--d-model", defaultValue = "384", description = "embedding width (default ${DEFAULT-VALUE})")
    int dModel;
    @Range(min = 1, max = 1024)
    @Option(names = "--heads", defaultValue = "6", description = "attention heads (default ${DEFAULT-VALUE})")
    int heads;
    @Range(min = 1, max = 1048576)
    @Option(names = "--seq-len", defaultValue = "256", description = "tokens per sequence (default ${DEFAULT-VALUE})")
    int seqLen;
    @Range(min = 1, max = 65536)
    @Option(names = "--batch-size", defaultValue = "8", description = "sequences per step (default ${DEFAULT-VALUE})")
    int batchSize;
    @Range(min = 2, max = 10000000)
    @Option(names = "--vocab", defaultValue = "8192", description = "vocabulary size (default ${DEFAULT-VALUE})")
    int vocab;
    @Range(min = 1)
    @Option(names = "--steps", defaultValue = "20", description = "timed training steps (default ${DEFAULT-VALUE})")
    int steps;
    @Range(min = 0)
    @Option(names = "--warmup-steps", defaultValue = "3", description = "untimed steps first (default ${DEFAULT-VALUE})")
    int warmup;
    @Range(min = 1)
    @Option(names = "--gen-tokens", defaultValue = "128",
            description = "tokens generated per sequence in the generation runs (default ${DEFAULT-VALUE})")
    int genTokens;
    @Option(names = "--decode-batches", split = ",", paramLabel = "N", defaultValue = "1,4,8,16,32",
            description = "batch sizes of the generation runs (default ${DEFAULT-VALUE})")
    int[] decodeBatches;
    @Range()
    @Option(names = "--seed", defaultValue = "0", description = "seed for weights and data (default ${DEFAULT-VALUE})")
    long seed;
    @Option(names = "--gradient-checkpointing",
            description = "train with activation recomputation (as the training commands' option), to measure its memory saving and time cost")
    boolean gradientCheckpointing;
    @Option(names = "--json", description = "print one JSON object instead of a table")
    boolean json;
    @Option(names = "--profile",
            description = "also print the time spent in each kernel during training, then during generation")
    boolean profile;

    @Override
    public Integer call() throws Exception {
        if (preset == Preset.SMOLLM2_135M) {
            architecture.arch = Architecture.LLAMA;
            layers = 30;
            dModel = 576;
            heads = 9;
            architecture.kvHeads = 3;
            architecture.intermediate = 1536;
            architecture.untied = false;
            vocab = 49152;
        }
        Architecture.Shape s = architecture.shape(vocab, seqLen, dModel, layers, heads);
        BenchConfig cfg = new BenchConfig(architecture.arch, layers, dModel, heads, s.kvHeads(), s.intermediate(),
                s.tied(), seqLen, batchSize, vocab, steps, warmup, Math.min(genTokens, seqLen - 1),
                Arrays.stream(decodeBatches).boxed().toList(), seed, gradientCheckpointing);
        Backend backend = Backend.get();
        Kernels kernels = backend.kernels();
        ProfilingKernels profiler = null;
        if (profile) {
            profiler = new ProfilingKernels(kernels);
            kernels = profiler;
        }
        Benchmark bench = new Benchmark(kernels, backend.description(), msg -> System.err.println(msg));
        BenchResult r = bench.run(cfg);
        if (profiler != null) {
            System.err.println("kernel time over generation, prefill and the sampler runs (all batches):");
            profiler.totals().entrySet().stream()
                    .sorted((a, b) -> Long.compare(b.getValue()[0], a.getValue()[0]))
                    .forEach(e -> System.err.printf("  %-20s %9.1f ms  %7d calls%n", e.getKey(), e.getValue()[0] / 1e6,
                            e.getValue()[1]));
        }
        if (json) {
            ObjectMapper om = new ObjectMapper();
            ObjectNode o = om.createObjectNode();
            o.put("backend", r.backend());
            o.put("parameters", r.parameters());
            o.put("train_tokens_per_s", r.trainTokensPerS());
            o.put("train_step_ms", r.trainStepMs());
            ObjectNode decode = o.putObject("decode_tokens_per_s");
            ObjectNode memory = o.putObject("decode_memory_bound_fraction");
            ObjectNode compute = o.putObject("decode_compute_bound_fraction");
            for (BenchResult.Decode d : r.decode()) {
                decode.put(Integer.toString(d.batch()), d.tokensPerS());
                memory.put(Integer.toString(d.batch()), d.memoryBoundFraction());
                compute.put(Integer.toString(d.batch()), d.computeBoundFraction());
            }
            for (int b : new int[] {1, 8}) {
                if (!Double.isNaN(r.decodeTokensPerS(b))) {
                    o.put("gen_tokens_per_s_b" + b, r.decodeTokensPerS(b));
                }
            }
            o.put("prefill_tokens_per_s", r.prefillTokensPerS());
            o.put("sampling_share_b8", r.samplingShare());
            o.put("read_gbps", r.readGBps());
            o.put("gemm_gflops", r.gemmGflops());
            o.put("train_gflops", r.trainGflops());
            o.put("mfu", r.mfu());
            o.put("resident_after_warmup_bytes", r.residentAfterWarmupBytes());
            o.put("resident_after_steps_bytes", r.residentAfterStepsBytes());
            o.put("train_peak_resident_bytes", r.trainPeakResidentBytes());
            o.put("gradient_checkpointing", gradientCheckpointing);
            o.put("steps", r.steps());
            o.put("final_loss", r.finalLoss());
            System.out.println(om.writeValueAsString(o));
        } else {
            System.out.printf("parameters            %,d%n", r.parameters());
            System.out.printf("train tokens/s        %.0f  (%.1f ms/step)%n", r.trainTokensPerS(), r.trainStepMs());
            for (BenchResult.Decode d : r.decode()) {
                System.out.printf("generation batch %-4d %.1f tokens/s, %.0f%% of the memory bound, %.0f%% of the"
                        + " compute bound%n", d.batch(), d.tokensPerS(), 100 * d.memoryBoundFraction(),
                        100 * d.computeBoundFraction());
            }
            System.out.printf("prefill tokens/s      %.0f%n", r.prefillTokensPerS());
            System.out.printf("sampler share         %.1f%% of generation at batch 8 (top-p 0.95)%n",
                    100 * r.samplingShare());
            System.out.printf("read bandwidth        %.1f GB/s%n", r.readGBps());
            System.out.printf("sgemm GFLOPS          %.1f%n", r.gemmGflops());
            System.out.printf("train GFLOPS, MFU     %.1f, %.1f%%%n", r.trainGflops(), 100 * r.mfu());
            System.out.printf("resident memory       %.1f MiB after warmup, %.1f MiB after %d steps%n",
                    r.residentAfterWarmupBytes() / 1048576.0, r.residentAfterStepsBytes() / 1048576.0, r.steps());
            System.out.printf("training peak memory  %.1f MiB resident%s%n", r.trainPeakResidentBytes() / 1048576.0,
                    gradientCheckpointing ? " (activations recomputed)" : "");
        }
        return 0;
    }
}
