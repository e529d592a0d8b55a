package org.align4j.train;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.backend.Backend;
import org.align4j.core.checkpoint.ModelKind;
import org.align4j.core.checkpoint.ModelSource;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.loss.SequenceLogProbs;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.tokenizer.TokenizerFiles;
import org.align4j.core.util.AtomicFiles;
import org.align4j.core.util.Json;
import org.align4j.data.batch.Collator;
import org.align4j.data.batch.Example;
import org.align4j.data.batch.TrainingBatch;
import org.align4j.train.scale.Cluster;
import org.align4j.train.scale.ScaleOut;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The reference model's summed log-probabilities of every sequence a reference-based stage
 * compares against (DPO: a pair's chosen and rejected responses; KTO: a completion and its
 * mismatched KL completion), computed once before training in batches without gradients and
 * stored as {@value #FILE} in the run directory; the reference model is released afterwards, so
 * training holds one model. The data is a list of rows of sequences, every row as wide as the
 * first. The file carries a fingerprint of the reference directory and of every row's tokens: a
 * resumed run with the same data reuses it, anything else recomputes it. Scaled out, the batches
 * are spread over executors, each computing its batches exactly as this process would: the file
 * is the same.
 */
public final class ReferenceCache {

    public static final String FILE = "reference_logps.json";

    private ReferenceCache() {
    }

    /**
     * Checks a stage's models before its run directory is touched: {@code --model} is a causal
     * language model, and so is {@code --ref-model} (may be null), with the same tokenizer.
     */
    public static void checkModels(Path model, String refModel) throws IOException {
        ModelKind.requireCausalLm(model);
        if (refModel != null) {
            ModelKind.requireCausalLm(Path.of(refModel));
            TokenizerFiles.requireSameTokenizer("--model", model, "--ref-model", Path.of(refModel));
        }
    }

    /** {@code [row][sequence]} for the train rows and the validation rows (may be null). */
    public record LogProbs(double[][] train, double[][] val) {
    }

    /**
     * Where the reference pass runs when scaled out: on {@code scale}'s executors, which receive
     * {@code files} once for the job and load the reference from their copies with {@code loader}.
     */
    public record Remote(ScaleOut scale, Map<String, Path> files, Loader loader) {
    }

    /** Loads the frozen reference on an executor, from the shipped files; a stage's small record. */
    @FunctionalInterface
    public interface Loader extends Serializable {
        DecoderModel load(Cluster.Shipped files, Kernels kernels) throws IOException;
    }

    static String fingerprint(ModelSource refSource, List<List<Example>> train, List<List<Example>> val) {
        long h = 0xcbf29ce484222325L;
        for (List<List<Example>> rows : Arrays.asList(train, val)) {
            if (rows == null) {
                continue;
            }
            for (List<Example> row : rows) {
                for (Example e : row) {
                    for (int id : e.ids()) {
                        h = (h ^ id) * 0x100000001b3L;
                    }
                    for (boolean t : e.trained()) {
                        h = (h ^ (t ? 1 : 2)) * 0x100000001b3L;
                    }
                    h = (h ^ 0xff) * 0x100000001b3L;
                }
            }
            h = (h ^ 0xfe) * 0x100000001b3L;
        }
        return refSource.model().toAbsolutePath().normalize() + (refSource.adapter() == null ? ""
                : "+" + refSource.adapter().toAbsolutePath().normalize()) + "#" + Long.toHexString(h);
    }

    /**
     * The reference's log-probabilities of every row, from the cache when it matches. With
     * {@code adapted} (a policy whose fresh LoRA adapters, created by this run, sit on
     * {@code refSource}), they come from that model with its adapters off, which is the reference
     * exactly: no second copy is loaded. A reference loaded from an adapter directory keeps its
     * adapters on: that adapter's model is the reference. {@code what} names a row in the log
     * ("pair", "example").
     */
    public static LogProbs load(Path runDir, ModelSource refSource, List<List<Example>> train,
                                List<List<Example>> val, Collator collator, int batchSize, Kernels kernels,
                                PrintStream log, DecoderModel adapted, String what) throws IOException {
        return load(runDir, refSource, train, val, collator, batchSize, kernels, log, adapted, what, null);
    }

    /**
     * As {@link #load(Path, ModelSource, List, List, Collator, int, Kernels, PrintStream, DecoderModel, String)},
     * the pass (when the cache does not match) on {@code remote}'s executors (null: here).
     */
    public static LogProbs load(Path runDir, ModelSource refSource, List<List<Example>> train,
                                List<List<Example>> val, Collator collator, int batchSize, Kernels kernels,
                                PrintStream log, DecoderModel adapted, String what, Remote remote) throws IOException {
        Path file = runDir.resolve(FILE);
        String fp = fingerprint(refSource, train, val);
        if (Files.isRegularFile(file)) {
            JsonNode root = Json.MAPPER.readTree(file.toFile());
            if (fp.equals(root.path("fingerprint").asText())) {
                log.println("reference log-probabilities: reusing " + file);
                return new LogProbs(read(root.get("train")), root.get("val").isNull() ? null : read(root.get("val")));
            }
            log.println("reference log-probabilities in " + file + " belong to other data or another reference;"
                    + " computing them again");
        }
        long t0 = System.nanoTime();
        double[][] tr;
        double[][] va;
        if (remote != null) {
            List<double[][]> both = computeOn(remote, val == null ? List.of(train) : List.of(train, val), collator,
                    batchSize);
            tr = both.get(0);
            va = val == null ? null : both.get(1);
        } else {
            DecoderModel ref = adapted != null ? adapted : refSource.load(kernels, DataType.FLOAT, false);
            if (adapted != null) {
                adapted.setAdaptersEnabled(false);
            }
            try {
                tr = compute(ref, train, collator, batchSize);
                va = val == null ? null : compute(ref, val, collator, batchSize);
            } finally {
                if (adapted != null) {
                    adapted.setAdaptersEnabled(true);
                }
            }
        }
        ObjectNode root = Json.MAPPER.createObjectNode();
        root.put("fingerprint", fp);
        root.set("train", write(tr));
        root.set("val", va == null ? null : write(va));
        AtomicFiles.writeString(file, Json.MAPPER.writeValueAsString(root));
        log.printf("reference log-probabilities of %d %s(s) from %s%s in %.1f s (cached in %s)%n",
                train.size() + (val == null ? 0 : val.size()), what, refSource, remote == null ? ""
                : " on " + remote.scale().cluster().master() + " (" + remote.scale().slices() + " slices)",
                (System.nanoTime() - t0) / 1e9, file);
        return new LogProbs(tr, va);
    }

    /**
     * The lists of rows' log-probabilities on the executors: every list cut into the batches of
     * {@code batchSize} rows that {@link #compute} runs, the batches spread over the executors in
     * order, each run as one batch there, so every number is this process's.
     */
    private static List<double[][]> computeOn(Remote remote, List<List<List<Example>>> lists, Collator collator,
                                              int batchSize) {
        List<RowBatch> batches = new ArrayList<>();
        for (List<List<Example>> rows : lists) {
            int width = width(rows);
            for (int start = 0; start < rows.size(); start += batchSize) {
                batches.add(RowBatch.of(rows.subList(start, Math.min(rows.size(), start + batchSize)), width));
            }
        }
        List<double[][]> done = remote.scale().cluster().mapInOrder(batches, remote.scale().slices(), remote.files(),
                new ReferencePass(remote.loader(), collator));
        List<double[][]> out = new ArrayList<>();
        int next = 0;
        for (List<List<Example>> rows : lists) {
            double[][] lp = new double[rows.size()][];
            for (int start = 0; start < rows.size(); start += batchSize) {
                double[][] b = done.get(next++);
                System.arraycopy(b, 0, lp, start, b.length);
            }
            out.add(lp);
        }
        return out;
    }

    /** Some consecutive rows of {@code width} sequences each: their tokens and trained flags. */
    private record RowBatch(int count, int width, int[][] ids, boolean[][] trained) implements Serializable {
        static RowBatch of(List<List<Example>> rows, int width) {
            List<Example> ex = rows.stream().flatMap(List::stream).toList();
            return new RowBatch(rows.size(), width, ex.stream().map(Example::ids).toArray(int[][]::new),
                    ex.stream().map(Example::trained).toArray(boolean[][]::new));
        }

        List<List<Example>> rows() {
            List<List<Example>> rows = new ArrayList<>();
            for (int r = 0; r < count; r++) {
                List<Example> row = new ArrayList<>();
                for (int j = 0; j < width; j++) {
                    row.add(new Example(ids[r * width + j], trained[r * width + j]));
                }
                rows.add(row);
            }
            return rows;
        }
    }

    /** An executor's task: the reference loaded from the shipped files, each batch of its slice as one forward. */
    private record ReferencePass(Loader loader, Collator collator) implements Cluster.SliceWork<RowBatch, double[][]> {
        @Override
        public List<double[][]> run(List<RowBatch> slice, Cluster.Shipped files) throws IOException {
            DecoderModel ref = loader.load(files, Backend.get().kernels());
            List<double[][]> out = new ArrayList<>();
            for (RowBatch b : slice) {
                List<List<Example>> rows = b.rows();
                out.add(compute(ref, rows, collator, Math.max(1, rows.size())));
            }
            return out;
        }
    }

    /** The rows' width (the first row's); a row of another width is an error. */
    private static int width(List<List<Example>> rows) {
        int width = rows.isEmpty() ? 0 : rows.get(0).size();
        for (int i = 0; i < rows.size(); i++) {
            if (rows.get(i).size() != width) {
                throw new IllegalArgumentException("row " + i + " has " + rows.get(i).size() + " sequences, not "
                        + width);
            }
        }
        return width;
    }

    /** Summed log-probabilities of each row's sequences under {@code model}, {@code batchSize} rows at a time. */
    public static double[][] compute(DecoderModel model, List<List<Example>> rows, Collator collator, int batchSize) {
        SequenceLogProbs slp = new SequenceLogProbs(model);
        int width = width(rows);
        double[][] out = new double[rows.size()][width];
        for (int start = 0; start < rows.size(); start += batchSize) {
            int end = Math.min(rows.size(), start + batchSize);
            List<Example> ex = new ArrayList<>();
            for (int i = start; i < end; i++) {
                ex.addAll(rows.get(i));
            }
            TrainingBatch b = collator.collate(ex);
            double[][] lp = slp.forward(b.inputs(), b.targets(), b.lossMask());
            for (int i = start; i < end; i++) {
                for (int j = 0; j < width; j++) {
                    out[i][j] = lp[0][width * (i - start) + j];
                }
            }
        }
        return out;
    }

    private static ArrayNode write(double[][] a) {
        ArrayNode n = Json.MAPPER.createArrayNode();
        for (double[] row : a) {
            ArrayNode r = n.addArray();
            for (double v : row) {
                r.add(v);
            }
        }
        return n;
    }

    private static double[][] read(JsonNode n) {
        double[][] a = new double[n.size()][];
        for (int i = 0; i < a.length; i++) {
            JsonNode row = n.get(i);
            a[i] = new double[row.size()];
            for (int j = 0; j < a[i].length; j++) {
                a[i][j] = row.get(j).asDouble();
            }
        }
        return a;
    }
}
