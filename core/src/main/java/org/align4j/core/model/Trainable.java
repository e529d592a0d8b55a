package org.align4j.core.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.align4j.core.util.UserInputException;

/**
 * Which of a model's tensors train: all, all but the frozen parts ({@code --freeze}), or only one
 * kind ({@code --train-only biases}, BitFit). A frozen tensor gets no gradient buffer and no
 * optimizer state and is bit-identical after training. A scalar head ({@code score.weight}, new
 * and zero at the start of reward and value training) always trains.
 */
public final class Trainable implements Predicate<String> {

    /** Train only one kind of tensor. */
    public enum Only { BIASES, NORMS }

    /** Everything trains. */
    public static final Trainable ALL = new Trainable(List.of(), null, "all parameters");

    /** LoRA, IA3, prompt or prefix tuning: the adapters (and a scalar head) train, the base is frozen. */
    public static final Trainable ADAPTERS = new Trainable(List.of(), null, "adapters");

    private static final Pattern LAYERS = Pattern.compile("layers:(\\d+)(?:-(\\d+))?");
    private static final Pattern LAYER_NAME = Pattern.compile("(?:h|model\\.layers)\\.(\\d+)\\..*");

    private final List<Predicate<String>> frozen;
    private final Only only;
    private final String description;

    private Trainable(List<Predicate<String>> frozen, Only only, String description) {
        this.frozen = frozen;
        this.only = only;
        this.description = description;
    }

    /**
     * {@code freeze}: parts to freeze, each {@code embeddings} (wte and wpe; with GPT-2's tied
     * head, the output layer too), {@code layers:A-B} or {@code layers:N} (transformer blocks,
     * from 0), {@code attention}, {@code mlp}, {@code norms} or {@code final-norm}; {@code only}:
     * null, or the one kind that trains. Errors name the option; layers are checked against
     * {@code nLayer}.
     */
    public static Trainable of(List<String> freeze, Only only, int nLayer) {
        if ((freeze == null || freeze.isEmpty()) && only == null) {
            return ALL;
        }
        if (freeze != null && !freeze.isEmpty() && only != null) {
            throw new UserInputException("--freeze and --train-only exclude each other: give one");
        }
        List<Predicate<String>> parts = new ArrayList<>();
        for (String f : freeze == null ? List.<String>of() : freeze) {
            String part = f.trim().toLowerCase(Locale.ROOT);
            Matcher m = LAYERS.matcher(part);
            if (m.matches()) {
                int from = Integer.parseInt(m.group(1));
                int to = m.group(2) == null ? from : Integer.parseInt(m.group(2));
                if (from > to || to >= nLayer) {
                    throw new UserInputException("--freeze " + f + ": the model has layers 0-" + (nLayer - 1));
                }
                parts.add(name -> {
                    Matcher l = LAYER_NAME.matcher(name);
                    return l.matches() && Integer.parseInt(l.group(1)) >= from && Integer.parseInt(l.group(1)) <= to;
                });
                continue;
            }
            parts.add(switch (part) {
                case "embeddings" -> name -> name.equals("wte.weight") || name.equals("wpe.weight")
                        || name.equals("model.embed_tokens.weight");
                case "attention" -> name -> name.contains(".attn.") || name.contains(".self_attn.");
                case "mlp" -> name -> name.contains(".mlp.");
                case "norms" -> Trainable::isNorm;
                case "final-norm" -> name -> name.startsWith("ln_f.") || name.startsWith("model.norm.");
                default -> throw new UserInputException("--freeze: unknown part '" + f + "'; known: embeddings,"
                        + " layers:A-B, layers:N, attention, mlp, norms, final-norm");
            });
        }
        String d = only != null ? "only " + only.name().toLowerCase(Locale.ROOT)
                : "all but " + String.join(", ", freeze);
        return new Trainable(List.copyOf(parts), only, d);
    }

    @Override
    public boolean test(String name) {
        if (name.equals(DecoderModel.SCORE_HEAD)) {
            return true;
        }
        if (this == ADAPTERS) {
            return LoraConfig.isAdapterTensor(name);
        }
        if (only == Only.BIASES) {
            return name.endsWith(".bias");
        }
        if (only == Only.NORMS) {
            return isNorm(name);
        }
        return frozen.stream().noneMatch(p -> p.test(name));
    }

    /** A normalisation gain or bias: GPT-2's LayerNorms ({@code ln_*}), the Llama family's RMSNorms ({@code *norm.weight}). */
    private static boolean isNorm(String name) {
        return name.contains("ln_") || name.endsWith("norm.weight");
    }

    public boolean all() {
        return this == ALL;
    }

    @Override
    public String toString() {
        return description;
    }
}
