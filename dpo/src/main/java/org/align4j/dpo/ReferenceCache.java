package org.align4j.dpo;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.checkpoint.ModelSource;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.loss.SequenceLogProbs;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.util.AtomicFiles;
import org.align4j.core.util.Json;
import org.align4j.data.batch.Collator;
import org.align4j.data.batch.Example;
import org.align4j.data.batch.TrainingBatch;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The reference model's summed log-probabilities of every chosen and rejected response, computed
 * once before training in batches without gradients and stored as {@value #FILE} in the run
 * directory; the reference model is released afterwards, so training holds one model. The file
 * carries a fingerprint of the reference directory and of every pair's tokens: a resumed run
 * with the same data reuses it, anything else recomputes it.
 */
public final class ReferenceCache {

    public static final String FILE = "reference_logps.json";

    private ReferenceCache() {
    }

    /** {@code [pair][0 chosen, 1 rejected]} for the train pairs and the validation pairs (may be null). */
    public record LogProbs(double[][] train, double[][] val) {
    }

    static String fingerprint(ModelSource refSource, List<PreferencePair> train, List<PreferencePair> val) {
        long h = 0xcbf29ce484222325L;
        for (List<PreferencePair> pairs : java.util.Arrays.asList(train, val)) {
            if (pairs == null) {
                continue;
            }
            for (PreferencePair p : pairs) {
                for (Example e : List.of(p.chosen(), p.rejected())) {
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
     * The reference's log-probabilities of every pair, from the cache when it matches. With
     * {@code adapted} (a policy whose fresh LoRA adapters, created by this run, sit on
     * {@code refSource}), they come from that model with its adapters off, which is the reference
     * exactly: no second copy is loaded. A reference loaded from an adapter directory keeps its
     * adapters on: that adapter's model is the reference.
     */
    public static LogProbs load(Path runDir, ModelSource refSource, List<PreferencePair> train, List<PreferencePair> val,
                                Collator collator, int batchSize, Kernels kernels, PrintStream log, DecoderModel adapted)
            throws IOException {
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
        log.printf("reference log-probabilities of %d pair(s) from %s in %.1f s (cached in %s)%n",
                train.size() + (val == null ? 0 : val.size()), refSource, (System.nanoTime() - t0) / 1e9, file);
        return new LogProbs(tr, va);
    }

    /** Summed log-probabilities of each pair's responses under {@code model}, in batches of pairs. */
    static double[][] compute(DecoderModel model, List<PreferencePair> pairs, Collator collator, int batchSize) {
        SequenceLogProbs slp = new SequenceLogProbs(model);
        double[][] out = new double[pairs.size()][2];
        for (int start = 0; start < pairs.size(); start += batchSize) {
            int end = Math.min(pairs.size(), start + batchSize);
            List<Example> ex = new ArrayList<>();
            for (int i = start; i < end; i++) {
                ex.add(pairs.get(i).chosen());
                ex.add(pairs.get(i).rejected());
            }
            TrainingBatch b = collator.collate(ex);
            double[][] lp = slp.forward(b.inputs(), b.targets(), b.lossMask());
            for (int i = start; i < end; i++) {
                out[i][0] = lp[0][2 * (i - start)];
                out[i][1] = lp[0][2 * (i - start) + 1];
            }
        }
        return out;
    }

    private static ArrayNode write(double[][] a) {
        ArrayNode n = Json.MAPPER.createArrayNode();
        for (double[] p : a) {
            n.addArray().add(p[0]).add(p[1]);
        }
        return n;
    }

    private static double[][] read(JsonNode n) {
        double[][] a = new double[n.size()][2];
        for (int i = 0; i < a.length; i++) {
            a[i][0] = n.get(i).get(0).asDouble();
            a[i][1] = n.get(i).get(1).asDouble();
        }
        return a;
    }
}
