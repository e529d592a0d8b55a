package org.align4j.serve.infer;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;

import org.align4j.core.backend.Backend;
import org.align4j.core.chat.ChatTemplate;
import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.checkpoint.ModelSource;
import org.align4j.core.kernels.CpuKernels;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.tokenizer.BpeTokenizer;
import org.align4j.core.tokenizer.SpecialTokens;
import org.align4j.core.tokenizer.TokenizerFiles;
import org.align4j.core.util.UserInputException;
import org.align4j.reward.RewardScorer;
import org.align4j.serve.ApiError;
import org.align4j.serve.ModelCatalog;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The catalog's models in memory: each loaded on its first request, once (concurrent first requests
 * wait for the same load), and kept. A directory with a scalar head is a reward model, served by
 * {@code /v1/score} only; the others are causal LMs with their decoding thread.
 */
final class LoadedModels implements AutoCloseable {

    /** A model as loaded: a causal LM or a reward model. */
    sealed interface Loaded permits Lm, Rm {
    }

    record Lm(LanguageModel model) implements Loaded {
    }

    record Rm(RewardScorer scorer) implements Loaded {
    }

    private final ModelCatalog catalog;
    private final PrintStream log;
    private final Map<String, CompletableFuture<Loaded>> loaded = new ConcurrentHashMap<>();

    LoadedModels(ModelCatalog catalog, PrintStream log) {
        this.catalog = catalog;
        this.log = log;
    }

    /** The causal LM {@code id} ({@code param} names the request field); a reward model is a 400. */
    LanguageModel languageModel(String id, String param) {
        Loaded m = get(id, param);
        if (m instanceof Lm lm) {
            return lm.model();
        }
        throw ApiError.invalid(param, "The model '" + id + "' is a reward model (it has a scalar score head, not a"
                + " language-model head): it cannot generate text; score with POST /v1/score.");
    }

    /** The reward model {@code id}; a causal LM is a 400. */
    RewardScorer rewardModel(String id, String param) {
        Loaded m = get(id, param);
        if (m instanceof Rm rm) {
            return rm.scorer();
        }
        throw ApiError.invalid(param, "The model '" + id + "' is a causal language model without a score head:"
                + " it cannot score; serve a reward model (align4j reward) for POST /v1/score.");
    }

    /** The causal LM {@code id} if it is loaded, else null. */
    LanguageModel ifLoaded(String id) {
        CompletableFuture<Loaded> f = loaded.get(id);
        return f != null && f.getNow(null) instanceof Lm lm ? lm.model() : null;
    }

    private Loaded get(String id, String param) {
        ModelCatalog.Entry entry = catalog.require(id, param);
        CompletableFuture<Loaded> mine = new CompletableFuture<>();
        CompletableFuture<Loaded> f = loaded.putIfAbsent(entry.id(), mine);
        if (f == null) {
            f = mine;
            try {
                mine.complete(load(entry));
            } catch (Exception | OutOfMemoryError e) {
                loaded.remove(entry.id(), mine); // a later request tries again (the directory may be fixed)
                mine.completeExceptionally(e);
            }
        }
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ApiError.internal();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof UserInputException) {
                log.println("align4j serve: model '" + id + "': " + e.getCause().getMessage());
                throw ApiError.invalid(param, "The model '" + id + "' cannot be served as a causal language model"
                        + " or a reward model; the server's log says why.");
            }
            log.println("align4j serve: could not load model '" + id + "' from " + entry.dir() + ":");
            e.getCause().printStackTrace(log);
            throw new ApiError(500, "server_error", param, "model_load_failed", "The model '" + id
                    + "' could not be loaded; the server's log has the details.");
        }
    }

    private Loaded load(ModelCatalog.Entry entry) throws IOException {
        Path dir = entry.dir();
        ModelSource source = ModelSource.of(dir);
        // each model its own kernels: their scratch buffers are not shared safely between the threads
        // that decode, score or train side by side in this process
        Kernels kernels = Backend.get().newKernels();
        if (source.hasScoreHead()) {
            return new Rm(RewardScorer.load(source, kernels));
        }
        DecoderModel m = ModelDirectory.load(dir, kernels, DataType.FLOAT);
        if (!TokenizerFiles.exists(dir)) {
            throw new IOException(dir + ": no tokenizer files");
        }
        BpeTokenizer tok = TokenizerFiles.load(dir);
        m.limitVocabulary(tok);
        log.println("align4j serve: loaded model '" + entry.id() + "' (" + m.family() + ", "
                + m.parameterCount() + " parameters)");
        return new Lm(new LanguageModel(entry.id(), m, tok, ChatTemplate.forModel(dir),
                SpecialTokens.stops(tok, m.config().eosTokenId()), log));
    }

    @Override
    public void close() {
        for (CompletableFuture<Loaded> f : loaded.values()) {
            Loaded l = f.getNow(null);
            if (l instanceof Lm lm) {
                lm.model().close();
            } else if (l instanceof Rm rm && rm.scorer().model().kernels() instanceof CpuKernels k) {
                k.close(); // the reward model's own kernels' threads
            }
        }
    }
}
