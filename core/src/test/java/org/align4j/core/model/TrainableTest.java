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
        TokenBatch b = TokenBatch.rightPadded(new int[][] {{3, 1, 4, 1, 5, 9}, {2, 6, 5}}, 0);
        int[] targets = new int[b.rows()];
        float[] weights = new float[b.rows()];
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < targets.length; i++) {
            targets[i] = r.nextInt(CFG.vocabSize());
            weights[i] = 1f / targets.length;
        }
        full.zeroGradients();
        double fullLoss = LanguageModelLoss.forwardBackward(full, b, targets, weights);
        for (Trainable t : List.of(Trainable.of(List.of("embeddings", "layers:0-1"), null, 4),
                Trainable.of(List.of("attention", "final-norm"), null, 4),
                Trainable.of(List.of(), Trainable.Only.BIASES, 4))) {
            GptModel part = copy(full, t, k);
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
            GptModel before = copy(part, Trainable.ALL, k);
            opt.step(part.gradients(), 1e-2);
            for (ParameterSet.Spec s : full.parameters().specs()) {
                boolean same = part.parameters().get(s.name()).equals(before.parameters().get(s.name()));
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
