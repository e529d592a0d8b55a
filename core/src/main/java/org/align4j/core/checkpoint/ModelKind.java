package org.align4j.core.checkpoint;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.align4j.core.model.Architecture;
import org.align4j.core.util.Json;
import org.align4j.core.util.UserInputException;

/**
 * Whether a model directory is a causal LM or a reward model (a scalar head: Hugging Face's
 * {@code *ForSequenceClassification}, {@code score.weight}). A reward model loaded where a policy
 * is expected would lose its head silently and sample from an output layer it never trained.
 */
public final class ModelKind {

    private ModelKind() {
    }

    /** Refuses a reward model where a causal LM is expected, naming the directory and its kind. */
    public static void requireCausalLm(Path dir) throws IOException {
        String head = scoreHead(dir);
        if (head != null) {
            throw new UserInputException(dir + " is a reward model (" + head + "); a policy must be a causal LM");
        }
    }

    /**
     * What makes {@code dir} a reward model (its sequence-classification class, or the head in its
     * weights or adapter), or null for a causal LM. A directory that is not a model says nothing
     * here: loading it reports that.
     */
    static String scoreHead(Path dir) throws IOException {
        if (PeftAdapter.isAdapter(dir)) {
            return PeftAdapter.read(dir).scoreHead() ? "a LoRA adapter with a score head" : null;
        }
        Path config = dir.resolve(ModelDirectory.CONFIG);
        if (!Files.isRegularFile(config)) {
            return null;
        }
        String cls = Architecture.sequenceClassification(Json.readObjectFile(config));
        if (cls != null) {
            return cls;
        }
        try {
            return ModelDirectory.hasScoreHead(dir) ? "its weights hold score.weight" : null;
        } catch (IOException noWeights) {
            return null;
        }
    }
}
