package org.align4j.core.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.align4j.core.util.UserInputException;

/**
 * A model's adapter settings in PEFT's terms, for the methods that sit on a block's projections:
 * {@link Method#LORA} (PEFT's {@code LoraConfig}) or {@link Method#IA3} (PEFT's {@code IA3Config}).
 * The stages only ask whether a model has adapters; the model reads the method.
 *
 * <p>LoRA's settings, as PEFT's {@code LoraConfig}: rank {@code r}, {@code alpha} (the update is
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
 *
 * <p>IA3 ({@code target_modules}, {@code feedforward_modules}): a trained vector per targeted module,
 * initialised to ones, that scales the module's output ({@code ia3_l [out, 1]}) or, for a
 * feedforward module, its input ({@code ia3_l [1, in]}), as PEFT's {@code IA3Layer}. {@code r},
 * {@code alpha}, {@code dropout}, {@code rslora} and {@code dora} are LoRA's and unused (0, false).
 * {@code feedforward} null: the family's default, as PEFT's; a feedforward name matches a targeted
 * module whose name ends with it (PEFT's test).
 *
 * <p>Prompt tuning ({@code num_virtual_tokens}, {@code prompt_tuning_init} TEXT with
 * {@code prompt_tuning_init_text}, else RANDOM): {@code virtualTokens} trained embeddings before
 * every sequence ({@code prompt_embeddings}); no block module is adapted.
 */
public record LoraConfig(int r, double alpha, List<String> targets, double dropout, boolean rslora, boolean dora,
                         Method method, List<String> feedforward, int virtualTokens, String initText,
                         int encoderHiddenSize) {

    /** PEFT's {@code peft_type} of the block adapters align4j trains. */
    public enum Method {
        LORA, IA3, PROMPT_TUNING, PREFIX_TUNING;

        /** As users type it (help, messages, config files). */
        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** PEFT's default targets of one model type, per method. */
    public record Defaults(List<String> lora, List<String> ia3, List<String> ia3Feedforward) {
    }

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
        method = method == null ? Method.LORA : method;
        targets = targets == null ? List.of() : List.copyOf(targets);
        if (method == Method.PROMPT_TUNING || method == Method.PREFIX_TUNING) {
            if (r != 0 || alpha != 0 || dropout != 0 || rslora || dora || !targets.isEmpty()
                    || (feedforward != null && !feedforward.isEmpty())) {
                throw new UserInputException("LoRA's and IA3's options do not apply to " + method);
            }
            if (virtualTokens < 1) {
                throw new UserInputException("--num-virtual-tokens must be at least 1, got " + virtualTokens);
            }
            if (encoderHiddenSize < 0 || (encoderHiddenSize > 0 && method != Method.PREFIX_TUNING)) {
                throw new UserInputException("--prefix-projection (an encoder hidden size above 0) applies to prefix"
                        + " tuning only, got " + encoderHiddenSize);
            }
            if (method == Method.PREFIX_TUNING && initText != null) {
                throw new UserInputException("--prompt-tuning-init-text applies to prompt tuning, not prefix tuning");
            }
            feedforward = null;
        } else if (virtualTokens != 0 || initText != null || encoderHiddenSize != 0) {
            throw new UserInputException("--num-virtual-tokens and --prompt-tuning-init-text apply to prompt tuning"
                    + " (--peft prompt_tuning) only");
        } else if (method == Method.IA3) {
            if (r != 0 || alpha != 0 || dropout != 0 || rslora || dora) {
                throw new UserInputException("--lora-r, --lora-alpha, --lora-dropout, --use-rslora and --use-dora"
                        + " are LoRA's: they do not apply to IA3");
            }
            feedforward = feedforward == null ? null : List.copyOf(feedforward);
        } else {
            if (feedforward != null && !feedforward.isEmpty()) {
                throw new UserInputException("--ia3-feedforward applies to IA3 (--peft ia3) only");
            }
            feedforward = null;
            if (r < 1) {
                throw new UserInputException("--lora-r must be at least 1, got " + r);
            }
            if (!(alpha > 0)) {
                throw new UserInputException("--lora-alpha must be above 0, got " + alpha);
            }
            if (!(dropout >= 0 && dropout < 1)) {
                throw new UserInputException("--lora-dropout must be in [0, 1), got " + dropout);
            }
        }
    }

    /** LoRA with PEFT's variants. */
    public LoraConfig(int r, double alpha, List<String> targets, double dropout, boolean rslora, boolean dora) {
        this(r, alpha, targets, dropout, rslora, dora, Method.LORA, null, 0, null, 0);
    }

    /** Plain LoRA: no dropout, alpha / r, no DoRA. */
    public LoraConfig(int r, double alpha, List<String> targets) {
        this(r, alpha, targets, 0, false, false);
    }

    /** IA3 on {@code targets}, {@code feedforward} of them scaling their input (null: the family's default, as PEFT's). */
    public static LoraConfig ia3(List<String> targets, List<String> feedforward) {
        return new LoraConfig(0, 0, targets, 0, false, false, Method.IA3, feedforward, 0, null, 0);
    }

    /** Prompt tuning with {@code virtualTokens} embeddings, initialised from {@code initText}'s tokens or (null) at random. */
    public static LoraConfig promptTuning(int virtualTokens, String initText) {
        return new LoraConfig(0, 0, List.of(), 0, false, false, Method.PROMPT_TUNING, null, virtualTokens, initText,
                0);
    }

    /** Prefix tuning with {@code virtualTokens} keys and values per layer (PEFT's prefix_projection false). */
    public static LoraConfig prefixTuning(int virtualTokens) {
        return prefixTuning(virtualTokens, 0);
    }

    /**
     * Prefix tuning, the table of keys and values from a reparameterisation MLP of hidden width
     * {@code encoderHiddenSize} (PEFT's {@code prefix_projection} with {@code encoder_hidden_size};
     * 0: the table itself trains).
     */
    public static LoraConfig prefixTuning(int virtualTokens, int encoderHiddenSize) {
        return new LoraConfig(0, 0, List.of(), 0, false, false, Method.PREFIX_TUNING, null, virtualTokens, null,
                encoderHiddenSize);
    }

    /** Prefix tuning through the reparameterisation MLP (PEFT's {@code prefix_projection}). */
    public boolean projection() {
        return encoderHiddenSize > 0;
    }

    /** Whether the method puts virtual tokens before the sequence (prompt or prefix tuning) rather than adapting block modules. */
    public boolean isVirtual() {
        return method == Method.PROMPT_TUNING || method == Method.PREFIX_TUNING;
    }

    public boolean isPrefix() {
        return method == Method.PREFIX_TUNING;
    }

    public boolean isIa3() {
        return method == Method.IA3;
    }

    /** Whether a parameter name is an adapter's tensor (LoRA's A, B and magnitude, IA3's vector): the part that trains. */
    public static boolean isAdapterTensor(String name) {
        return name.contains(".lora_") || name.endsWith(".ia3_l") || name.equals("prompt_embeddings")
                || name.startsWith("prefix_encoder.");
    }

    /** These settings with the family's default targets (and IA3's feedforward modules) where none are given, as PEFT's. */
    public LoraConfig orDefaults(Defaults d) {
        if (isVirtual()) {
            return this;
        }
        if (!isIa3()) {
            return orTargets(d.lora());
        }
        return new LoraConfig(0, 0, targets.isEmpty() ? d.ia3() : targets, 0, false, false, Method.IA3,
                feedforward == null ? d.ia3Feedforward() : feedforward, 0, null, 0);
    }

    /**
     * The indices into {@code candidates} (selected by {@link #select}) that IA3 treats as
     * feedforward: those whose name ends with one of {@code feedforward} (PEFT's
     * {@code any(key.endswith(f))}). A feedforward name that no target matches is refused, as PEFT
     * refuses feedforward modules that are not a subset of the targets.
     */
    public boolean[] feedforwardOf(List<Module> candidates, List<Integer> selected) {
        boolean[] ff = new boolean[candidates.size()];
        for (String f : feedforward == null ? List.<String>of() : feedforward) {
            boolean any = false;
            for (int i : selected) {
                if (candidates.get(i).name().endsWith(f.trim())) {
                    ff[i] = true;
                    any = true;
                }
            }
            if (!any) {
                throw new UserInputException("--ia3-feedforward: '" + f + "' is none of the targeted modules "
                        + selected.stream().map(i -> candidates.get(i).name()).toList()
                        + " (feedforward_modules must be a subset of target_modules)");
            }
        }
        return ff;
    }

    /** The update's scale: alpha / r, or alpha / sqrt(r) with rsLoRA (PEFT's {@code scaling}). */
    public double scale() {
        return rslora ? alpha / Math.sqrt(r) : alpha / r;
    }

    /** These settings with {@code defaults} as targets when none are given. */
    public LoraConfig orTargets(List<String> defaults) {
        if (isIa3()) {
            throw new IllegalStateException("IA3's defaults come from orDefaults");
        }
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
