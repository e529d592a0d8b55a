package org.align4j.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import org.align4j.core.kernels.CpuKernels;
import org.align4j.core.kernels.GenericKernels;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.loss.LanguageModelLoss;

/**
 * Activation recomputation changes memory, never results: for GPT-2 and a Qwen2-shaped Llama-family
 * model (grouped heads, q/k/v biases), fully trained, with the lower blocks frozen, with LoRA on
 * every projection and with DoRA plus LoRA dropout, the gradients and the loss of a left-padded
 * batch with checkpointing equal those of the same model without it bit for bit, through both
 * entry points (logits and a scalar head's hidden states), on the generic and the CPU kernels.
 * The oracle is the model's own ordinary backward, itself checked against finite differences and
 * PyTorch elsewhere ({@link ModelGradientCheckTest}, {@link LoraVariantsTest}). With LoRA dropout the
 * test fails if the recomputed blocks draw fresh masks instead of replaying the first run's.
 */
class GradientCheckpointingTest {

    enum Family { GPT2, LLAMA }

    enum Setup { FULL, FROZEN_LOWER, LORA, DORA_DROPOUT, IA3, PROMPT_TUNING, PREFIX_TUNING }

    private static final GptConfig GPT = GptConfig.of(13, 8, 12, 3, 2);
    private static final LlamaConfig LLAMA = new LlamaConfig("qwen2", 13, 16, 24, 3, 4, 2, 1e-6, 10000.0, null, 8,
            false, true, null, List.of(12));
    private static final TokenBatch BATCH = TokenBatch.leftPadded(new int[][] {{3, 1, 4, 1, 5, 9}, {2, 6, 5}}, 0);

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (Family f : Family.values()) {
            for (Setup s : Setup.values()) {
                for (boolean cpu : new boolean[] {false, true}) {
                    out.add(Arguments.of(f, s, cpu));
                }
            }
        }
        return out.stream();
    }

    private static LoraConfig lora(Family f, Setup s) {
        List<String> targets = f == Family.GPT2 ? List.of("c_attn", "c_proj", "c_fc")
                : List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");
        return switch (s) {
            case LORA -> new LoraConfig(3, 6.0, targets);
            case DORA_DROPOUT -> new LoraConfig(3, 6.0, targets, 0.3, false, true);
            // IA3 scales the feedforward projection's input, the others' outputs
            case IA3 -> f == Family.GPT2 ? LoraConfig.ia3(List.of("c_attn", "mlp.c_proj"), List.of("mlp.c_proj"))
                    : LoraConfig.ia3(List.of("k_proj", "v_proj", "down_proj"), List.of("down_proj"));
            case PROMPT_TUNING -> LoraConfig.promptTuning(2, null);
            case PREFIX_TUNING -> LoraConfig.prefixTuning(2);
            default -> null;
        };
    }

    /** The same weights every call: a random base, adapters with B and magnitudes moved off their start. */
    private static DecoderModel model(Family f, Setup s, Kernels k, boolean scoreHead) {
        int layers = f == Family.GPT2 ? GPT.nLayer() : LLAMA.numLayers();
        Trainable trainable = s == Setup.FROZEN_LOWER ? Trainable.of(List.of("embeddings", "layers:0"), null, layers)
                : Trainable.ALL;
        DecoderModel base = f == Family.GPT2 ? new GptModel(GPT, k, DataType.FLOAT).initialize(3)
                : new LlamaModel(LLAMA, k, DataType.FLOAT).initialize(3);
        DecoderModel m = base.asBaseOf(scoreHead, trainable, lora(f, s), null);
        SplittableRandom r = new SplittableRandom(5);
        if (m.lora() != null) {
            m.initializeAdapters(4);
        }
        for (String n : m.parameters().names()) {
            INDArray p = m.parameters().get(n);
            if (n.contains("lora_B") || n.equals(DecoderModel.SCORE_HEAD)) {
                p.assign(gaussian(r, p.shape(), 0.3));
            } else if (n.endsWith("lora_magnitude_vector") || n.endsWith(".ia3_l")) {
                p.muli(gaussian(r, p.shape(), 0.3).addi(1));
            }
        }
        return m;
    }

    private static INDArray gaussian(SplittableRandom r, long[] shape, double std) {
        double[] x = new double[(int) Nd4j.create(DataType.FLOAT, shape).length()];
        for (int i = 0; i < x.length; i++) {
            x[i] = r.nextGaussian() * std;
        }
        return Nd4j.create(x, shape, DataType.DOUBLE).castTo(DataType.FLOAT);
    }

    /** Two micro-batches accumulated inside one training step (dropout's masks drawn per forward). */
    private static float[] lmGradients(DecoderModel m, double[] losses) {
        int[] targets = new int[BATCH.rows()];
        float[] weights = new float[BATCH.rows()];
        SplittableRandom r = new SplittableRandom(8);
        for (int i = 0; i < targets.length; i++) {
            targets[i] = r.nextInt(13);
            weights[i] = i % 6 == 0 ? 0f : 1f / targets.length;
        }
        m.zeroGradients();
        m.setAdapterDropoutSeed(77L);
        for (int micro = 0; micro < 2; micro++) {
            losses[micro] = LanguageModelLoss.forwardBackward(m, BATCH, targets, weights);
        }
        m.setAdapterDropoutSeed(null);
        return m.gradients().flat().dup().toFloatVector();
    }

    /** A scalar read at each sequence's last token, its gradient pushed through {@link DecoderModel#backwardHidden}. */
    private static float[] hiddenGradients(DecoderModel m) {
        m.zeroGradients();
        m.setAdapterDropoutSeed(78L);
        INDArray hidden = m.forwardHidden(BATCH);
        INDArray dhidden = hidden.mul(0.5);
        m.backwardHidden(dhidden);
        m.setAdapterDropoutSeed(null);
        return m.gradients().flat().dup().toFloatVector();
    }

    @ParameterizedTest
    @MethodSource("cases")
    void gradientsAndLossesEqualThoseWithoutRecomputation(Family f, Setup s, boolean cpu) {
        Kernels k = cpu ? new CpuKernels(new GenericKernels(), 2) : new GenericKernels();
        DecoderModel plain = model(f, s, k, false);
        DecoderModel recomputed = model(f, s, k, false);
        recomputed.setGradientCheckpointing(true);
        assertTrue(recomputed.gradientCheckpointing());

        double[] want = new double[2];
        double[] got = new double[2];
        float[] expected = lmGradients(plain, want);
        float[] actual = lmGradients(recomputed, got);
        assertArrayEquals(want, got, 0.0, "losses");
        assertArrayEquals(expected, actual, 0f, f + " " + s + " gradients");
        // the comparison means something: the lowest trained block has gradients, frozen ones none
        String lowest = (f == Family.GPT2 ? "h." : "model.layers.") + (s == Setup.FROZEN_LOWER ? 1 : 0) + ".";
        INDArray someLowGradient = recomputed.gradients().get(recomputed.gradients().names().stream()
                .filter(n -> switch (s) {
                    case FULL, FROZEN_LOWER -> n.startsWith(lowest);
                    case LORA, DORA_DROPOUT -> n.startsWith(lowest) && n.contains("lora_B");
                    case IA3 -> n.startsWith(lowest) && n.endsWith(".ia3_l");
                    // virtual tokens: one table for every layer, its gradient flows back through all of them
                    case PROMPT_TUNING, PREFIX_TUNING -> n.equals("prompt_embeddings");
                })
                .findFirst().orElseThrow());
        assertNotEquals(0.0, someLowGradient.amaxNumber().doubleValue(), "gradient reaches " + lowest);
        if (s == Setup.FROZEN_LOWER) {
            assertNull(recomputed.gradients().getOrNull(f == Family.GPT2 ? "h.0.ln_1.weight"
                    : "model.layers.0.input_layernorm.weight"));
        }
        // switched off again, the model is the plain one
        recomputed.setGradientCheckpointing(false);
        assertArrayEquals(expected, lmGradients(recomputed, got), 0f, "after switching recomputation off");

        DecoderModel plainHead = model(f, s, k, true);
        DecoderModel recomputedHead = model(f, s, k, true);
        recomputedHead.setGradientCheckpointing(true);
        assertArrayEquals(hiddenGradients(plainHead), hiddenGradients(recomputedHead), 0f,
                f + " " + s + " scalar-head gradients");
    }

    @Test
    void theBlocksShareOneSetOfActivationBuffers() {
        Activations a = new Activations(GPT, DataType.FLOAT);
        a.checkpointed(true);
        a.shape(2, 6, true);
        assertEquals(a.fch[0].data().address(), a.fch[2].data().address(), "one buffer for every block's inner activations");
        assertNotEquals(a.res3[0].data().address(), a.res3[2].data().address(), "each block's output kept");
        a.checkpointed(false);
        a.shape(2, 6, true);
        assertNotEquals(a.fch[0].data().address(), a.fch[2].data().address(), "without recomputation, one per block");
    }
}
