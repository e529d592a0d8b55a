package org.align4j.distill;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.util.Json;
import org.junit.jupiter.api.Test;

/**
 * GKD's generalized JSD against an independent PyTorch reference (float64,
 * tools/reference/gpt2_reference.py, gkd_fixture, written from TRL's formula with F.kl_div and
 * autograd): two sequences of 5 positions over 11 tokens with masked prompt and padding positions,
 * beta 0 (forward KL), 0.5, 0.9 and 1 (reverse KL), temperature 1 and 2; the batchmean loss and
 * its gradient with respect to every student logit (0 at masked positions), through the double
 * row function and the fp32 batch path the trainer runs.
 */
class GkdGoldenTest {

    @Test
    void matchesPyTorch() throws Exception {
        JsonNode f = Json.MAPPER.readTree(Path.of("src/test/resources/fixtures/gkd/expected.json").toFile());
        int rows = f.get("batch").asInt() * f.get("time").asInt();
        int v = f.get("vocab").asInt();
        double[] student = doubles(f.get("student"));
        double[] teacher = doubles(f.get("teacher"));
        float[] mask = new float[rows];
        for (int r = 0; r < rows; r++) {
            mask[r] = f.get("mask").get(r).floatValue();
        }
        int cases = 0;
        for (JsonNode c : f.get("cases")) {
            double beta = c.get("beta").asDouble();
            double temperature = c.get("temperature").asDouble();
            double[] want = doubles(c.get("grad"));
            String what = "beta " + beta + " T " + temperature;
            // double path: sum of rows / tokens, gradient of the mean
            int tokens = 0;
            for (float m : mask) {
                tokens += m != 0f ? 1 : 0;
            }
            double sum = 0;
            double[] grad = new double[rows * v];
            for (int r = 0; r < rows; r++) {
                if (mask[r] == 0f) {
                    continue;
                }
                double[] s = java.util.Arrays.copyOfRange(student, r * v, (r + 1) * v);
                double[] t = java.util.Arrays.copyOfRange(teacher, r * v, (r + 1) * v);
                double[] g = new double[v];
                sum += GkdLoss.row(s, t, v, beta, temperature, g, 1.0 / tokens);
                System.arraycopy(g, 0, grad, r * v, v);
            }
            assertEquals(c.get("loss").asDouble(), sum / tokens, 1e-12, what);
            for (int i = 0; i < grad.length; i++) {
                assertEquals(want[i], grad[i], 1e-12, what + " dlogit " + i);
            }
            // fp32 path (what the trainer runs)
            float[] sf = floats(student);
            float[] tf = floats(teacher);
            float[] gf = new float[rows * v];
            java.util.Arrays.fill(gf, 7f); // masked rows must come back as 0
            GkdLoss.Sum s = GkdLoss.masked(sf, v, tf, v, v, mask, beta, temperature, gf, 1.0 / tokens);
            assertEquals(tokens, s.tokens());
            assertEquals(c.get("loss").asDouble(), s.divergence() / tokens, 1e-5 * Math.max(1, c.get("loss").asDouble()),
                    what);
            for (int i = 0; i < gf.length; i++) {
                assertEquals(want[i], gf[i], 1e-5, what + " fp32 dlogit " + i);
            }
            cases++;
        }
        assertEquals(8, cases);
    }

    static double[] doubles(JsonNode a) {
        double[] out = new double[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asDouble();
        }
        return out;
    }

    static float[] floats(double[] a) {
        float[] out = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = (float) a[i];
        }
        return out;
    }
}
