package org.align4j.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

import org.align4j.core.kernels.Kernels;
import org.align4j.core.loss.LanguageModelLoss;
import org.align4j.core.optim.AdamW;
import org.align4j.core.optim.AdamWConfig;
import org.align4j.core.testing.GoldenFixtures;
import org.align4j.core.util.UserInputException;

/**
 * Frozen tensors: the oracle for the gradients of the tensors that still train is the full
 * model's own backward (itself held to finite differences and PyTorch), on the same weights and
 * batch; frozen tensors get no gradient, no optimizer state, and do not change.
 */
class TrainableTest {

    private static final GptConfig CFG = GptConfig.of(13, 8, 12, 4, 2);

    @Test
    void partsAndErrors() {
        Trainable t = Trainable.of(List.of("embeddings", "layers:0-1"), null, 4);
        assertFalse(t.test("wte.weight"));
        assertFalse(t.test("h.1.mlp.c_fc.weight"));
        assertTrue(t.test("h.2.mlp.c_fc.weight"));
        assertTrue(t.test("ln_f.bias"));
        assertTrue(t.test(GptModel.SCORE_HEAD), "a new scalar head always trains");
        Trainable bitFit = Trainable.of(List.of(), Trainable.Only.BIASES, 4);
        assertTrue(bitFit.test("h.3.attn.c_attn.bias"));
        assertFalse(bitFit.test("h.3.attn.c_attn.weight"));
        assertFalse(bitFit.test("ln_f.weight"));
        assertTrue(Trainable.of(List.of(), null, 4).all());
        assertTrue(assertThrows(UserInputException.class, () -> Trainable.of(List.of("layers:2-4"), null, 4))
                .getMessage().contains("layers 0-3"));
        assertTrue(assertThrows(UserInputException.class, () -> Trainable.of(List.of("heads"), null, 4))
                .getMessage().contains("unknown part 'heads'"));
        assertThrows(UserInputException.class, () -> Trainable.of(List.of("mlp"), Trainable.Only.BIASES, 4));
    }

    static List<Kernels> kernels() {
        return GoldenFixtures.kernels().toList();
    }

    private static GptModel copy(GptModel from, Trainable t, Kernels k) {
        GptModel m = new GptModel(CFG, k, DataType.FLOAT, false, t);
        for (String n : from.parameters().names()) {
            m.parameters().get(n).assign(from.parameters().get(n));
        }
        return m;
    }

    @ParameterizedTest
    @MethodSource("kernels")
    void trainableGradientsEqualTheFullModelsAndFrozenOnesDoNotExist(Kernels k) {
        GptModel full = new GptModel(CFG, k, DataType.FLOAT).initialize(7);
        compare(full, t -> copy(full, t, k), List.of(Trainable.of(List.of("embeddings", "layers:0-1"), null, 4),
                Trainable.of(List.of("attention", "final-norm"), null, 4),
                Trainable.of(List.of(), Trainable.Only.BIASES, 4)));
    }

    /** The same parts by the Llama family's names (Qwen2: q/k/v biases; GQA; untied output layer). */
    @ParameterizedTest
    @MethodSource("kernels")
    void theLlamaFamilyFreezesByItsOwnNames(Kernels k) {
        LlamaConfig c = new LlamaConfig("qwen2", 13, 16, 20, 3, 4, 2, 1e-6, 10000.0, null, 8, false, true, null,
                List.of(12));
        LlamaModel full = new LlamaModel(c, k, DataType.FLOAT).initialize(7);
        Trainable t = Trainable.of(List.of("embeddings", "layers:0"), null, 3);
        assertFalse(t.test("model.embed_tokens.weight"));
        assertFalse(t.test("model.layers.0.mlp.up_proj.weight"));
        assertTrue(t.test("model.layers.1.self_attn.q_proj.bias"));
        assertTrue(t.test("lm_head.weight"), "an untied output layer is not the embedding");
        assertFalse(Trainable.of(List.of("norms"), null, 3).test("model.layers.2.post_attention_layernorm.weight"));
        assertFalse(Trainable.of(List.of("final-norm"), null, 3).test("model.norm.weight"));
        assertFalse(Trainable.of(List.of("attention"), null, 3).test("model.layers.2.self_attn.o_proj.weight"));
        compare(full, tr -> {
            LlamaModel m = new LlamaModel(c, k, DataType.FLOAT, false, tr);
            for (String n : full.parameters().names()) {
                m.parameters().get(n).assign(full.parameters().get(n));
            }
            return m;
        }, List.of(t, Trainable.of(List.of("attention", "final-norm"), null, 3),
                Trainable.of(List.of(), Trainable.Only.BIASES, 3), Trainable.of(List.of(), Trainable.Only.NORMS, 3)));
    }

    private static void compare(DecoderModel full, java.util.function.Function<Trainable, DecoderModel> copy,
                                List<Trainable> parts) {
        TokenBatch b = TokenBatch.rightPadded(new int[][] {{3, 1, 4, 1, 5, 9}, {2, 6, 5}}, 0);
        int[] targets = new int[b.rows()];
        float[] weights = new float[b.rows()];
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < targets.length; i++) {
            targets[i] = r.nextInt(full.config().vocabSize());
            weights[i] = 1f / targets.length;
        }
        full.zeroGradients();
        double fullLoss = LanguageModelLoss.forwardBackward(full, b, targets, weights);
        for (Trainable t : parts) {
            DecoderModel part = copy.apply(t);
            part.zeroGradients();
            assertEquals(fullLoss, LanguageModelLoss.forwardBackward(part, b, targets, weights), 1e-6, t.toString());
            long expected = 0;
            for (ParameterSet.Spec s : full.parameters().specs()) {
                INDArray g = part.gradients().getOrNull(s.name());
                if (t.test(s.name())) {
                    expected += s.size();
                    INDArray want = full.gradients().get(s.name());
                    double scale = Math.max(1e-6, want.amaxNumber().doubleValue());
                    assertEquals(0, g.sub(want).amaxNumber().doubleValue() / scale, 1e-5, t + ": " + s.name());
                } else {
                    assertNull(g, t + ": frozen " + s.name() + " has no gradient");
                }
            }
            assertEquals(expected, part.trainableParameterCount(), t.toString());
            assertEquals(expected, part.gradients().size(), t.toString());
            // the optimizer keeps two moments of the trainable tensors only, and moves nothing else
            AdamW opt = new AdamW(part.trainableParameters(), new AdamWConfig(0.9, 0.999, 1e-8, 0.1));
            assertEquals(expected, opt.firstMoment().length());
            INDArray before = part.parameters().flat().dup();
            opt.step(part.gradients(), 1e-2);
            for (ParameterSet.Spec s : full.parameters().specs()) {
                long off = part.parameters().offset(s.name());
                INDArray was = before.get(NDArrayIndex.interval(off, off + s.size()));
                boolean same = part.parameters().get(s.name()).reshape(s.size()).equals(was);
                assertEquals(!t.test(s.name()), same, t + ": " + s.name() + (same ? " unchanged" : " changed"));
            }
        }
    }

    @Test
    void nothingLeftToTrainIsAnError() {
        UserInputException e = assertThrows(UserInputException.class, () -> new GptModel(CFG,
                kernels().get(0), DataType.FLOAT, false, Trainable.of(List.of("embeddings", "layers:0-3",
                        "final-norm"), null, 4)));
        assertTrue(e.getMessage().contains("no parameter is left to train"), e.getMessage());
    }
}
