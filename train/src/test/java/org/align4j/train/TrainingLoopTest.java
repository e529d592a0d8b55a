package org.align4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.IntConsumer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.kernels.GenericKernels;
import org.align4j.core.loss.LanguageModelLoss;
import org.align4j.core.model.GptConfig;
import org.align4j.core.model.GptModel;
import org.align4j.core.model.TokenBatch;
import org.align4j.core.run.Checkpoints;
import org.align4j.core.run.RunDirectory;
import org.align4j.core.util.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

/** The shared loop with a small language-modelling objective whose every example weighs its token count. */
class TrainingLoopTest {

    @TempDir
    Path tmp;

    /** Next-token loss on fixed random sequences of 3 to 9 tokens; a hook sees each prepared step. */
    static final class Toy implements Objective {
        final GptModel model = new GptModel(GptConfig.of(13, 12, 8, 1, 2), new GenericKernels(), DataType.FLOAT)
                .initialize(5);
        final List<int[]> data = new ArrayList<>();
        IntConsumer onPrepare = i -> { };
        int prepared;
        boolean nanFrom = false;
        int stateCounter;

        Toy() {
            SplittableRandom r = new SplittableRandom(9);
            for (int i = 0; i < 24; i++) {
                int[] s = new int[3 + r.nextInt(7)];
                for (int j = 0; j < s.length; j++) {
                    s[j] = r.nextInt(13);
                }
                data.add(s);
            }
        }

        public List<Trainee> trainees() {
            return List.of(new Trainee("model", model, null));
        }

        public int[] trainLengths() {
            return data.stream().mapToInt(s -> s.length).toArray();
        }

        public boolean groupByLength() {
            return false; // consecutive batches of b are then one batch of 2b
        }

        record Batch(TokenBatch inputs, int[] targets, float[] mask, double weight, long inputTokens)
                implements MicroBatch {
        }

        public MicroBatch prepare(int[] examples) {
            onPrepare.accept(++prepared);
            int[][] in = new int[examples.length][];
            int t = 0;
            for (int i = 0; i < examples.length; i++) {
                int[] s = data.get(examples[i]);
                in[i] = java.util.Arrays.copyOf(s, s.length - 1);
                t = Math.max(t, in[i].length);
            }
            TokenBatch b = TokenBatch.rightPadded(in, 0);
            int[] targets = new int[b.rows()];
            float[] mask = new float[b.rows()];
            int n = 0;
            for (int i = 0; i < examples.length; i++) {
                int[] s = data.get(examples[i]);
                for (int j = 0; j + 1 < s.length; j++) {
                    targets[i * t + j] = s[j + 1];
                    mask[i * t + j] = 1;
                    n++;
                }
            }
            return new Batch(b, targets, mask, n, n);
        }

        public void forwardBackward(MicroBatch micro, double scale, Metrics metrics) {
            Batch b = (Batch) micro;
            float[] w = new float[b.mask().length];
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) (b.mask()[i] * scale);
            }
            double loss = LanguageModelLoss.forwardBackward(model, b.inputs(), b.targets(), w);
            metrics.mean("loss", nanFrom ? Double.NaN : loss / scale, b.weight());
            stateCounter++;
        }

        public boolean hasValidation() {
            return false;
        }

        public Map<String, Double> evaluate() {
            return Map.of();
        }

        public BestMetric bestMetric() {
            return new BestMetric("loss", false);
        }

        public JsonNode state() {
            return Json.MAPPER.createObjectNode().put("counter", stateCounter);
        }

        public void restore(JsonNode state) {
            stateCounter = state.get("counter").asInt();
        }
    }

    private TrainingOptions options(Path out, int batch, int accum, int steps, int saveEvery) {
        ObjectNode t = Json.MAPPER.valueToTree(TrainingOptions.defaults());
        t.put("model", "toy").put("train_file", "toy").put("output_dir", out.toString()).put("batch_size", batch)
                .put("grad_accum", accum).put("max_steps", steps).put("save_every", saveEvery).put("keep_last", 0)
                .put("lr", 1e-2).put("seed", 3);
        return Json.MAPPER.convertValue(t, TrainingOptions.class);
    }

    private static final PrintStream QUIET = new PrintStream(new ByteArrayOutputStream());

    private LoopResult run(TrainingOptions o, Toy toy, boolean resume) throws IOException {
        return new TrainingLoop(o, Json.MAPPER.valueToTree(o), QUIET).run(() -> toy, resume);
    }

    static List<Double> losses(Path run) throws IOException {
        List<Double> out = new ArrayList<>();
        for (JsonNode m : new RunDirectory(run).metrics()) {
            assertEquals(out.size() + 1, m.get("step").asInt(), "metric rows are consecutive steps");
            out.add(m.get("loss").asDouble());
        }
        return out;
    }

    @Test
    void accumulatingMicroBatchesEqualsOneLargerBatch() throws IOException {
        Toy big = new Toy();
        Toy small = new Toy();
        run(options(tmp.resolve("big"), 8, 1, 6, 100), big, false);
        run(options(tmp.resolve("small"), 4, 2, 6, 100), small, false);
        List<Double> a = losses(tmp.resolve("big"));
        List<Double> b = losses(tmp.resolve("small"));
        assertEquals(6, a.size());
        for (int i = 0; i < a.size(); i++) {
            assertEquals(a.get(i), b.get(i), 1e-5 * Math.abs(a.get(i)), "step " + (i + 1));
        }
        float[] pa = big.model.parameters().flat().toFloatVector();
        float[] pb = small.model.parameters().flat().toFloatVector();
        for (int i = 0; i < pa.length; i++) {
            assertEquals(pa[i], pb[i], 1e-5f, "parameter " + i);
        }
        assertTrue(a.get(5) < a.get(0), "the loss falls: " + a);
    }

    @Test
    void cancelThenResumeEqualsAnUninterruptedRunAndRestoresStageState() throws IOException {
        Toy reference = new Toy();
        run(options(tmp.resolve("ref"), 4, 2, 12, 3), reference, false);
        Path out = tmp.resolve("cancelled");
        Toy first = new Toy();
        // asks for cancellation while preparing step 5 (micro-batches 9 and 10)
        first.onPrepare = n -> {
            if (n == 9) {
                try {
                    new RunDirectory(out).requestCancel();
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            }
        };
        TrainingOptions o = options(out, 4, 2, 12, 3);
        assertEquals(RunDirectory.Status.CANCELLED, run(o, first, false).status());
        assertEquals(5, losses(out).size());
        Toy second = new Toy();
        LoopResult r = run(o, second, true);
        assertEquals(RunDirectory.Status.SUCCEEDED, r.status());
        assertEquals(losses(tmp.resolve("ref")), losses(out), "exactly the losses of the uninterrupted run");
        assertEquals(reference.stateCounter, second.stateCounter, "the stage's state came back from the checkpoint");
        assertTrue(Files.isDirectory(out.resolve("final")));
        assertEquals(RunDirectory.Status.SUCCEEDED, run(o, new Toy(), true).status(), "a finished run stays finished");
        assertEquals(12, losses(out).size());
    }

    @Test
    void aNonFiniteLossStopsTheRunWithoutAFinalModel() throws IOException {
        Toy toy = new Toy();
        toy.onPrepare = n -> toy.nanFrom = n >= 5;
        Path out = tmp.resolve("nan");
        TrainingFailure f = assertThrows(TrainingFailure.class, () -> run(options(out, 4, 1, 10, 2), toy, false));
        assertTrue(f.getMessage().contains("loss became NaN at step 5") && f.getMessage().contains("step-4"),
                f.getMessage());
        RunDirectory dir = new RunDirectory(out);
        assertEquals(RunDirectory.Status.FAILED, dir.status());
        assertFalse(Files.exists(out.resolve("final")));
        assertEquals(4, losses(out).size());
    }

    @Test
    void resumeAfterACrashBeforeTheFirstCheckpointStartsCleanly() throws IOException {
        Path out = tmp.resolve("crash");
        TrainingOptions o = options(out, 4, 1, 6, 100);
        Toy crashing = new Toy();
        crashing.onPrepare = n -> {
            if (n == 4) {
                throw new IllegalStateException("simulated crash");
            }
        };
        assertThrows(IllegalStateException.class, () -> run(o, crashing, false));
        assertEquals(3, losses(out).size());
        run(o, new Toy(), true);
        run(o.equals(o) ? options(tmp.resolve("clean"), 4, 1, 6, 100) : o, new Toy(), false);
        assertEquals(losses(tmp.resolve("clean")), losses(out), "rows 1..6 once each, as a clean run");
        assertTrue(new RunDirectory(out).events().stream()
                .anyMatch(e -> e.get("message").asText().contains("no checkpoint to resume from")));
    }

    @Test
    void halfDeletedAndTemporaryCheckpointsAreCleanedAtStart() throws IOException {
        Path out = tmp.resolve("leftovers");
        TrainingOptions o = options(out, 4, 1, 4, 2);
        run(o, new Toy(), false);
        Path ckpts = out.resolve("checkpoints");
        Files.createDirectories(ckpts.resolve(".trash-step-2"));
        Files.writeString(ckpts.resolve(".trash-step-2").resolve("config.json"), "{}");
        Files.createDirectories(ckpts.resolve(".tmp-step-9"));
        new Checkpoints(new RunDirectory(out)).recover();
        assertFalse(Files.exists(ckpts.resolve(".trash-step-2")));
        assertFalse(Files.exists(ckpts.resolve(".tmp-step-9")));
        assertEquals(List.of(ckpts.resolve("step-2")), new Checkpoints(new RunDirectory(out)).list());
    }

    @Test
    void aFullDiskNamesTheCheckpointAndLeavesNoPartialOneBehind() throws Exception {
        Path mount = tmp.resolve("small-disk");
        Files.createDirectories(mount);
        Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=32k", "tmpfs", mount.toString())
                .redirectErrorStream(true).start();
        org.junit.jupiter.api.Assumptions.assumeTrue(p.waitFor() == 0, "needs a tmpfs mount (root) to fill a disk");
        try {
            Path out = mount.resolve("run");
            IOException e = assertThrows(IOException.class, () -> run(options(out, 4, 1, 10, 2), new Toy(), false));
            assertTrue(e.getMessage().contains("No space left on device") && e.getMessage().contains("checkpoints"),
                    e.getMessage());
            try (var left = Files.list(out.resolve("checkpoints"))) {
                assertEquals(List.of(), left.filter(f -> f.getFileName().toString().startsWith(".tmp-")).toList(),
                        "no temporary checkpoint left behind");
            }
        } finally {
            new ProcessBuilder("umount", mount.toString()).start().waitFor();
        }
    }
}
