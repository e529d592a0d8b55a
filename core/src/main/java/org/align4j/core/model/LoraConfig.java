package org.align4j.core.model;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import org.align4j.core.util.UserInputException;

/**
 * LoRA's settings, as PEFT's {@code LoraConfig}: rank {@code r}, {@code alpha} (the update is
 * scaled by alpha / r) and the target modules, by GPT-2's Conv1D names: {@code c_attn},
 * {@code c_proj} (attention's and the MLP's output projections, as in PEFT, which matches module
 * names by suffix), {@code c_fc}, or {@code attn.c_proj} / {@code mlp.c_proj} alone.
 */
public record LoraConfig(int r, double alpha, List<String> targets) {

    /** A module of a GPT-2 block that can carry an adapter: its name within the block, and its Conv1D input and output widths. */
    public enum Target {
        C_ATTN("attn.c_attn"), ATTN_C_PROJ("attn.c_proj"), C_FC("mlp.c_fc"), MLP_C_PROJ("mlp.c_proj");

        public final String module;

        Target(String module) {
            this.module = module;
        }

        public long in(GptConfig c) {
            return this == MLP_C_PROJ ? c.mlpWidth() : c.nEmbd();
        }

        public long out(GptConfig c) {
            return switch (this) {
                case C_ATTN -> 3L * c.nEmbd();
                case ATTN_C_PROJ, MLP_C_PROJ -> c.nEmbd();
                case C_FC -> c.mlpWidth();
            };
        }
    }

    public LoraConfig {
        if (r < 1) {
            throw new UserInputException("--lora-r must be at least 1, got " + r);
        }
        if (!(alpha > 0)) {
            throw new UserInputException("--lora-alpha must be above 0, got " + alpha);
        }
        targets = List.copyOf(targets);
        modules(targets);
    }

    public double scale() {
        return alpha / r;
    }

    /** The modules the target names select, in block order; an unknown name is an error naming the option. */
    public List<Target> modules() {
        return modules(targets);
    }

    private static List<Target> modules(List<String> targets) {
        Set<Target> out = new LinkedHashSet<>();
        for (String t : targets) {
            switch (t.trim().toLowerCase(Locale.ROOT)) {
                case "c_attn", "attn.c_attn" -> out.add(Target.C_ATTN);
                case "c_proj" -> {
                    out.add(Target.ATTN_C_PROJ);
                    out.add(Target.MLP_C_PROJ);
                }
                case "attn.c_proj" -> out.add(Target.ATTN_C_PROJ);
                case "c_fc", "mlp.c_fc" -> out.add(Target.C_FC);
                case "mlp.c_proj" -> out.add(Target.MLP_C_PROJ);
                default -> throw new UserInputException("--lora-targets: unknown module '" + t
                        + "'; GPT-2's are c_attn, c_proj, c_fc, attn.c_proj, mlp.c_proj");
            }
        }
        if (out.isEmpty()) {
            throw new UserInputException("--lora-targets: name at least one module");
        }
        List<Target> ordered = new ArrayList<>();
        for (Target t : Target.values()) {
            if (out.contains(t)) {
                ordered.add(t);
            }
        }
        return ordered;
    }

    /** The tensor names of an adapter on {@code module} of block {@code layer} (GPT-2 naming; PEFT adds its prefix). */
    public static String aName(int layer, Target t) {
        return "h." + layer + "." + t.module + ".lora_A.weight";
    }

    public static String bName(int layer, Target t) {
        return "h." + layer + "." + t.module + ".lora_B.weight";
    }
}
