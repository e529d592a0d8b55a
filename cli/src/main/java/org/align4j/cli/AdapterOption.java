package org.align4j.cli;

import java.nio.file.Path;

import org.align4j.core.checkpoint.ModelSource;
import picocli.CommandLine.Option;

/**
 * {@code --adapter DIR} beside a command's {@code --model}: the LoRA adapter put on that model, its
 * base, as {@code merge} takes it. Without it {@code --model} may itself be an adapter directory,
 * which names its base. (The training stages have the same option in {@link TrainingOptionsMixin},
 * where it is a setting of the run.)
 */
final class AdapterOption {

    @Option(names = "--adapter", paramLabel = "DIR",
            description = "a LoRA adapter directory to put on --model, its base (default: none; --model may itself be an adapter directory, which names its base)")
    Path adapter;

    ModelSource source(Path model) {
        return new ModelSource(model, adapter);
    }
}
