package org.align4j.train;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

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
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The reference model's summed log-probabilities of every sequence a reference-based stage
 * compares against (DPO: a pair's chosen and rejected responses; KTO: a completion and its
 * mismatched KL completion), computed once before training in batches without gradients and
 * stored as {@value #FILE} in the run directory; the reference model is released afterwards, so
 * training holds one model. The data is a list of rows of sequences, every row as wide as the
 * first. The file carries a fingerprint of the reference directory and of every row's tokens: a
 * resumed run with the same data reuses it, anything else recomputes it.
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
        DecoderModel ref = adapted != null ? adapted : refSource.load(kernels, DataType.FLOAT, false);
        if (adapted != null) {
            adapted.setAdaptersEnabled(false);
        }
        double[][] tr;
        double[][] va;
        try {
            tr = compute(ref, train, collator, batchSize);
            va = val == null ? null : compute(ref, val, collator, batchSize);
        } finally {
            if (adapted != null) {
                adapted.setAdaptersEnabled(true);
            }
        }
        ObjectNode root = Json.MAPPER.createObjectNode();
        root.put("fingerprint", fp);
        root.set("train", write(tr));
        root.set("val", va == null ? null : write(va));
        AtomicFiles.writeString(file, Json.MAPPER.writeValueAsString(root));
        log.printf("reference log-probabilities of %d %s(s) from %s in %.1f s (cached in %s)%n",
                train.size() + (val == null ? 0 : val.size()), what, refSource, (System.nanoTime() - t0) / 1e9, file);
        return new LogProbs(tr, va);
    }

    /** Summed log-probabilities of each row's sequences under {@code model}, {@code batchSize} rows at a time. */
    public static double[][] compute(DecoderModel model, List<List<Example>> rows, Collator collator, int batchSize) {
        SequenceLogProbs slp = new SequenceLogProbs(model);
        int width = rows.isEmpty() ? 0 : rows.get(0).size();
        double[][] out = new double[rows.size()][width];
        for (int start = 0; start < rows.size(); start += batchSize) {
            int end = Math.min(rows.size(), start + batchSize);
            List<Example> ex = new ArrayList<>();
            for (int i = start; i < end; i++) {
                if (rows.get(i).size() != width) {
                    throw new IllegalArgumentException("row " + i + " has " + rows.get(i).size() + " sequences, not "
                            + width);
                }
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
