package org.align4j.core.model;

import java.util.List;
import java.util.function.IntFunction;

/**
 * How a family names and stores the projections of its blocks, which is all that LoRA adapters, a
 * quantized base and the merge need to know of it: the modules (in the order of the family's module
 * indices, with their input and output widths), the prefix of block {@code i}'s tensor names,
 * whether weights are {@code Linear [out, in]} (else GPT-2's Conv1D {@code [in, out]}), the number
 * of blocks, and the family's name for messages.
 */
record BlockLayout(List<LoraConfig.Module> modules, IntFunction<String> prefix, boolean linear, int layers,
                   String family) {

    BlockLayout {
        modules = List.copyOf(modules);
    }

    /** The tensor name of {@code module}'s weight in block {@code layer}. */
    String weightName(int layer, LoraConfig.Module module) {
        return prefix.apply(layer) + module.name() + ".weight";
    }
}
