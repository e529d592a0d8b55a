package org.align4j.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.align4j.core.testing.GoldenFixtures.assertRelClose;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.checkpoint.Safetensors;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.model.GptModel;
import org.align4j.core.model.ScoreHead;
import org.align4j.core.model.TokenBatch;
import org.align4j.core.util.Json;

import org.align4j.train.Metrics;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The reward model in fp32 against an independent PyTorch reference (float64,
 * tools/reference/gpt2_reference.py): a checkpoint in Hugging Face's
 * GPT2ForSequenceClassification layout loads, the rewards of a right-padded batch, the pairwise
 * loss with margins, centering and a 3-way ranking with a tie, and every parameter gradient agree
 * within 1e-4 relative, for both kernel implementations.
 */
class RewardGoldenTest {

    static final Path FIXTURES = Path.of("src/test/resources/fixtures/reward-tiny");

    @ParameterizedTest
    @MethodSource("org.align4j.core.testing.GoldenFixtures#kernels")
    void rewardsLossAndEveryGradientMatchPyTorch(Kernels kernels) throws Exception {
        JsonNode meta = Json.MAPPER.readTree(FIXTURES.resolve("expected.json").toFile());
        GptModel model = (GptModel) ModelDirectory.load(FIXTURES.resolve("model"), kernels, DataType.FLOAT, true);
        assertTrue(ModelDirectory.hasScoreHead(FIXTURES.resolve("model")));
        List<int[]> seqs = new ArrayList<>();
        meta.get("sequences").forEach(s -> {
            int[] a = new int[s.size()];
            for (int i = 0; i < a.length; i++) {
                a[i] = s.get(i).asInt();
            }
            seqs.add(a);
        });
        List<RewardGroup> groups = new ArrayList<>();
        int[] offsets = new int[meta.get("groups").size()];
        int next = 0;
        for (int g = 0; g < offsets.length; g++) {
            List<RewardGroup.Pair> pairs = new ArrayList<>();
            int size = 0;
            for (JsonNode p : meta.get("groups").get(g)) {
                int better = p.get(0).asInt();
                int worse = p.get(1).asInt();
                size = Math.max(size, Math.max(better, worse) + 1 - next);
                pairs.add(new RewardGroup.Pair(better - next, worse - next, p.get(2).asDouble(), p.get(3).asDouble()));
            }
            offsets[g] = next;
            groups.add(new RewardGroup(seqs.subList(next, next + size), pairs, List.of()));
            next += size;
        }
        ScoreHead head = new ScoreHead(model);
        double[] rewards = head.forward(TokenBatch.rightPadded(seqs.toArray(new int[0][]), 63));
        for (int i = 0; i < rewards.length; i++) {
            double e = meta.get("rewards").get(i).asDouble();
            assertEquals(e, rewards[i], 1e-4 * Math.max(1, Math.abs(e)), "reward " + i);
        }
        double[] d = new double[rewards.length];
        Metrics m = new Metrics();
        double loss = RewardLoss.compute(groups, offsets, rewards, meta.get("center").asDouble(), 1.0 / groups.size(),
                d, m) / groups.size();
        assertEquals(meta.get("loss").asDouble(), loss, 1e-4 * meta.get("loss").asDouble());
        assertEquals(loss, m.values().get("loss"), 1e-12, "the logged loss is the mean over prompts");
        model.zeroGradients();
        head.backward(d);
        try (Safetensors.Reader r = Safetensors.open(FIXTURES.resolve("expected.safetensors"))) {
            for (String name : model.parameters().names()) {
                float[] e = r.readFloats("grad." + name);
                assertRelClose(name, Nd4j.create(e, model.parameters().get(name).shape()), model.gradients().get(name),
                        1e-4);
            }
        }
    }
}
