package org.align4j.cli;

import picocli.CommandLine.Option;

/** {@code --force}, shared by every command whose output may already exist as something else. */
final class ForceOption {

    @Option(names = "--force", description = "let the output replace an existing file or directory of another kind"
            + " (a model, an adapter, a run, a task file, judgments, metrics, data); an output never replaces one of"
            + " the command's own inputs, --force or not")
    boolean force;
}
