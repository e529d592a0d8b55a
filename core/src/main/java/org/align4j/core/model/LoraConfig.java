package org.align4j.core.model;

import java.util.ArrayList;
import java.util.List;

import org.align4j.core.util.UserInputException;

/**
 * LoRA's settings, as PEFT's {@code LoraConfig}: rank {@code r}, {@code alpha} (the update is
 * scaled by alpha / r) and the target modules, matched as PEFT matches them: a name selects every
 * module of a block whose name is it or ends with "." + it (GPT-2: {@code c_attn}, {@code c_proj}
 * for both output projections, {@code c_fc}, {@code attn.c_proj}; the Llama family:
 * {@code q_proj}, {@code k_proj}, {@code v_proj}, {@code o_proj}, {@code gate_proj},
 * {@code up_proj}, {@code down_proj}). No targets: the family's default, PEFT's own for it.
 *
 * <p>PEFT's variants: {@code dropout} ({@code lora_dropout}) on the adapter's input while training;
 * {@code rslora} ({@code use_rslora}) scales by alpha / sqrt(r); {@code dora} ({@code use_dora})
 * adds a trained magnitude per output feature ({@code lora_magnitude_vector}) over the direction
 * {@code W + s B A} normalised per output feature.
 */
public record LoraConfig(int r, double alpha, List<String> targets, double dropout, boolean rslora, boolean dora) {

    /** A module of a block that can carry an adapter: its name within the block, its input and output widths. */
    public record Module(String name, long in, long out) {
    }

    /**
     * A target that names no module of the family. Typed, so that a loader can say what it means
     * there: a stored adapter whose targets are another family's was trained on another base.
     */
    public static final class UnknownTargetException extends UserInputException {
        private final String family;

        UnknownTargetException(String target, String family, List<Module> candidates) {
            super("--lora-targets: unknown module '" + target + "'; " + family + "'s are "
                    + String.join(", ", candidates.stream().map(Module::name).toList()));
            this.family = family;
        }

        public String family() {
            return family;
        }
    }

    public LoraConfig {
        if (r < 1) {
            throw new UserInputException("--lora-r must be at least 1, got " + r);
        }
        if (!(alpha > 0)) {
            throw new UserInputException("--lora-alpha must be above 0, got " + alpha);
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new UserInputException("--lora-dropout must be in [0, 1), got " + dropout);
        }
        targets = targets == null ? List.of() : List.copyOf(targets);
    }

    /** Plain LoRA: no dropout, alpha / r, no DoRA. */
    public LoraConfig(int r, double alpha, List<String> targets) {
        this(r, alpha, targets, 0, false, false);
    }

    /** The update's scale: alpha / r, or alpha / sqrt(r) with rsLoRA (PEFT's {@code scaling}). */
    public double scale() {
        return rslora ? alpha / Math.sqrt(r) : alpha / r;
    }

    /** These settings with {@code defaults} as targets when none are given. */
    public LoraConfig orTargets(List<String> defaults) {
        return targets.isEmpty() ? new LoraConfig(r, alpha, defaults, dropout, rslora, dora) : this;
    }

    /**
     * The indices into {@code candidates} (a family's adaptable modules, in block order) that the
     * targets select; a name that selects none is an error naming the option and the family's names.
     */
    public List<Integer> select(List<Module> candidates, String family) {
        if (targets.isEmpty()) {
            throw new UserInputException("--lora-targets: name at least one module");
        }
        boolean[] chosen = new boolean[candidates.size()];
        for (String t : targets) {
            String target = t.trim();
            boolean any = false;
            for (int i = 0; i < chosen.length; i++) {
                String name = candidates.get(i).name();
                if (name.equals(target) || name.endsWith("." + target)) {
                    chosen[i] = true;
                    any = true;
                }
            }
            if (!any) {
                throw new UnknownTargetException(t, family, candidates);
            }
        }
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < chosen.length; i++) {
            if (chosen[i]) {
                out.add(i);
            }
        }
        return out;
    }
}
