package org.align4j.core.checkpoint;

import java.io.IOException;
import java.nio.file.Path;

import org.nd4j.linalg.api.buffer.DataType;

import org.align4j.core.kernels.Kernels;
import org.align4j.core.model.DecoderModel;

/**
 * Where a command's model comes from: {@code --model DIR} (a model directory, or an adapter
 * directory that names its base), or {@code --model BASE --adapter DIR} (the adapter put on that
 * base). Loading goes through {@link ModelDirectory#load(Path, Path, Kernels, DataType, ModelDirectory.Setup)}.
 */
public record ModelSource(Path model, Path adapter) {

    public static ModelSource of(Path model) {
        return new ModelSource(model, null);
    }

    /** From settings as stored in a config (either may be null). */
    public static ModelSource of(String model, String adapter) {
        return new ModelSource(model == null ? null : Path.of(model), adapter == null ? null : Path.of(adapter));
    }

    public DecoderModel load(Kernels kernels, DataType type, ModelDirectory.Setup setup) throws IOException {
        return ModelDirectory.load(model, adapter, kernels, type, setup);
    }

    /** For inference: as stored, a head read when {@code scoreHead} and the directory has one. */
    public DecoderModel load(Kernels kernels, DataType type, boolean scoreHead) throws IOException {
        return load(kernels, type, ModelDirectory.Setup.plain(scoreHead));
    }

    /** Whether the model holds a scalar head (a reward model): the adapter's, when there is one. */
    public boolean hasScoreHead() throws IOException {
        return ModelDirectory.hasScoreHead(adapter != null ? adapter : model);
    }

    /** The directory whose tokenizer files the model uses: the base given with an adapter, or the directory. */
    public Path tokenizerDir() {
        return model;
    }

    @Override
    public String toString() {
        return adapter == null ? String.valueOf(model) : model + " + adapter " + adapter;
    }
}
