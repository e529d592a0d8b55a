package org.align4j.core.output;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

import org.align4j.core.util.UserInputException;

/**
 * The rule every command that writes follows, checked before any work: an output is never one of
 * the same command's inputs (nor, for a directory replaced as a whole, a directory holding one),
 * and it replaces an existing file or directory only when that is of a kind the command itself
 * writes there, unless {@code --force}. An appending store (judgments) takes only its own format,
 * with or without {@code --force}. Paths are compared by their real location ({@link RealPaths}).
 */
public final class OutputCheck {

    private record Input(String option, Path path) {
    }

    private final String option;
    private final Path out;
    private final Set<PathKind> own = EnumSet.noneOf(PathKind.class);
    private final List<Input> inputs = new ArrayList<>();
    private boolean whole;

    private OutputCheck(String option, Path out) {
        this.option = option;
        this.out = out;
    }

    /** The output {@code out}, given by {@code option} ({@code "--out"}). */
    public static OutputCheck of(String option, Path out) {
        return new OutputCheck(option, out);
    }

    /** Kinds the command writes there itself, so they may be replaced or continued without --force. */
    public OutputCheck replaces(PathKind... kinds) {
        own.addAll(List.of(kinds));
        return this;
    }

    /**
     * The output is a directory whose contents the command replaces (a model directory, a run's
     * checkpoints and final model): an input inside it would be lost too, so that is refused as well.
     */
    public OutputCheck asWholeDirectory() {
        whole = true;
        return this;
    }

    /** An input of the same command (null: not given). */
    public OutputCheck input(String inputOption, Path path) {
        if (path != null) {
            inputs.add(new Input(inputOption, path));
        }
        return this;
    }

    public OutputCheck inputs(String inputOption, Collection<Path> paths) {
        if (paths != null) {
            paths.forEach(p -> input(inputOption, p));
        }
        return this;
    }

    /** Refuses an output that is (or holds) an input, or an existing artifact of another kind without --force. */
    public PathKind check(boolean force) {
        return check(force, ", or pass --force to replace it");
    }

    /** As {@link #check(boolean)} for an output that no --force may put over another kind of file. */
    public PathKind checkStrict() {
        return check(false, "");
    }

    private PathKind check(boolean force, String forceHint) {
        checkInputs();
        PathKind kind = PathKind.of(out);
        if (kind.isVacant() || own.contains(kind) || force) {
            return kind;
        }
        throw new UserInputException(out + ": is " + kind.description() + "; " + option + " would replace it. Choose"
                + " another " + option + forceHint);
    }

    /** For an append-only store of {@code store}'s kind: anything else there is refused, --force or not. */
    public void checkAppendsTo(PathKind store) {
        checkInputs();
        PathKind kind = PathKind.of(out);
        if (!kind.isVacant() && kind != store) {
            throw new UserInputException(out + ": is " + kind.description() + ", not " + store.description()
                    + "; " + option + " only appends to " + store.description() + " (choose another " + option + ")");
        }
    }

    /** Refuses an output that is, or holds, one of the inputs. */
    public void checkInputs() {
        for (Input in : inputs) {
            if (RealPaths.same(out, in.path())) {
                throw new UserInputException(option + " " + out + " is this command's " + in.option() + " "
                        + in.path() + ": writing it would destroy what the command reads; choose another " + option);
            }
            if (whole && RealPaths.within(in.path(), out)) {
                throw new UserInputException(option + " " + out + " holds this command's " + in.option() + " "
                        + in.path() + ": writing there could replace it; choose another " + option);
            }
        }
    }
}
