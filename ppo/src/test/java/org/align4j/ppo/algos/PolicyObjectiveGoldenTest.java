package org.align4j.ppo.algos;

import static org.align4j.core.testing.GoldenFixtures.assertRelClose;
import static org.align4j.core.testing.GoldenFixtures.doubles;
import static org.align4j.core.testing.GoldenFixtures.floats;
import static org.align4j.core.testing.GoldenFixtures.ints;
import static org.align4j.core.testing.GoldenFixtures.tokenBatch;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.checkpoint.Safetensors;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.loss.SequenceLogProbs;
import org.align4j.core.model.GptModel;
import org.align4j.core.model.TokenBatch;
import org.align4j.core.util.Json;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One update's whole policy objective as PpoTrainer assembles it ({@link PolicyObjective} over the
 * rows of a padded batch, the entropy bonus on the logits) through ppo-tiny's policy at temperature
 * 0.7, against PyTorch (tools/reference/ppo_loss_matrix.py, float64): the loss and every parameter
 * gradient within 1e-4 relative in fp32, for both kernel implementations. (A) vanilla with
 * clip-higher and a dual clip, seq-mean-token-sum-norm, GRPO's k3 KL and an entropy bonus, one
 * response masked; (B) GSPO, seq-mean-token-mean, one advantage per response.
 */
class PolicyObjectiveGoldenTest {

    static final Path TINY = Path.of("src/test/resources/fixtures/ppo-tiny");
    static final Path LOSSES = Path.of("src/test/resources/fixtures/ppo-losses");

    @ParameterizedTest
    @MethodSource("org.align4j.core.testing.GoldenFixtures#kernels")
    void theUpdateObjectiveAndEveryGradientMatchPyTorch(Kernels kernels) throws Exception {
        JsonNode batchMeta = Json.MAPPER.readTree(TINY.resolve("expected.json").toFile());
        JsonNode meta = Json.MAPPER.readTree(LOSSES.resolve("model.json").toFile());
        TokenBatch batch = tokenBatch(batchMeta);
        int[] targets = ints(batchMeta.get("targets"));
        float[] mask = floats(batchMeta.get("loss_mask"));
        double[] old = doubles(batchMeta.get("old_logprobs"));
        double[] adv = doubles(batchMeta.get("advantages"));
        double[] ref = doubles(meta.get("reference"));
        double[] seqAdv = doubles(meta.get("sequence_advantages"));
        int b = batch.batch();
        int t = batch.time();
        // each response's rows, in order, as Packed lays them out
        int[][] rows = new int[b][];
        for (int i = 0; i < b; i++) {
            int n = 0;
            for (int j = 0; j < t; j++) {
                n += mask[i * t + j] != 0f ? 1 : 0;
            }
            rows[i] = new int[n];
            for (int j = 0, k = 0; j < t; j++) {
                if (mask[i * t + j] != 0f) {
                    rows[i][k++] = i * t + j;
                }
            }
        }
        PolicyLoss.Settings clip = new PolicyLoss.Settings(meta.get("low").asDouble(), meta.get("high").asDouble(),
                meta.get("dual_clip").asDouble(), 1, 1.05);
        for (String c : new String[] {"A", "B"}) {
            GptModel policy = (GptModel) ModelDirectory.load(TINY.resolve("policy"), kernels, DataType.FLOAT);
            SequenceLogProbs lp = new SequenceLogProbs(policy);
            double[] logpRows = lp.forwardRows(batch, targets, mask, meta.get("temperature").asDouble());
            boolean a = c.equals("A");
            int[] trained = new int[b];
            double[][] logp = new double[b][];
            double[][] o = new double[b][];
            double[][] ad = new double[b][];
            double[][] rf = new double[b][];
            long tokens = 0;
            for (int i = 0; i < b; i++) {
                trained[i] = a && i == meta.get("masked_response").asInt() ? 0 : rows[i].length;
                tokens += trained[i];
                logp[i] = new double[rows[i].length];
                o[i] = new double[rows[i].length];
                ad[i] = new double[rows[i].length];
                rf[i] = new double[rows[i].length];
                for (int j = 0; j < rows[i].length; j++) {
                    logp[i][j] = logpRows[rows[i][j]];
                    o[i][j] = old[rows[i][j]];
                    ad[i][j] = a ? adv[rows[i][j]] : seqAdv[i];
                    rf[i][j] = ref[rows[i][j]];
                }
            }
            PolicyObjective.Result r = PolicyObjective.compute(logp, o, ad, a ? rf : null, meta.get("beta").asDouble(),
                    trained, a ? LossAggregation.SEQ_MEAN_TOKEN_SUM_NORM : LossAggregation.SEQ_MEAN_TOKEN_MEAN,
                    a ? PolicyLossType.VANILLA : PolicyLossType.GSPO, clip, meta.get("max_new_tokens").asInt());
            double[] dRows = new double[logpRows.length];
            for (int i = 0; i < b; i++) {
                for (int j = 0; j < rows[i].length; j++) {
                    dRows[rows[i][j]] = r.grad()[i][j];
                }
            }
            double loss = r.loss();
            double[] dEntropy = null;
            if (a) {
                // as PpoTrainer: minus coef x the mean entropy per trained token
                double coef = meta.get("entropy_coef").asDouble();
                double[] h = lp.entropyRows();
                dEntropy = new double[h.length];
                for (int i = 0; i < b; i++) {
                    for (int j = 0; trained[i] > 0 && j < rows[i].length; j++) {
                        loss -= coef * h[rows[i][j]] / tokens;
                        dEntropy[rows[i][j]] = -coef / tokens;
                    }
                }
            }
            double expected = meta.get("loss").get(c).asDouble();
            assertEquals(expected, loss, 1e-4 * Math.abs(expected), c + ": loss");
            policy.zeroGradients();
            lp.backwardRows(dRows, dEntropy);
            try (Safetensors.Reader reader = Safetensors.open(LOSSES.resolve("expected-model.safetensors"))) {
                for (String name : policy.parameters().names()) {
                    assertRelClose(c + " " + name, Nd4j.create(reader.readFloats(c + "." + name),
                            policy.parameters().get(name).shape()), policy.gradients().get(name), 1e-4);
                }
            }
        }
    }
}
