package org.align4j.serve.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.util.Json;
import org.align4j.data.validate.Validator;
import org.align4j.serve.ApiError;

/**
 * OpenAI's hyperparameters, each a value or {@code "auto"}, and the rules that resolve
 * {@code "auto"} (documented in the README):
 * <ul>
 * <li>{@code n_epochs}: OpenAI's rule on the training file's valid records N: 3, raised so that
 *     N x epochs reaches 100, lowered so that it stays under 25,000, within 1..25.</li>
 * <li>{@code batch_size}: the stages' default, 8, or N when the file holds fewer records.</li>
 * <li>{@code learning_rate_multiplier}: 1, a multiplier of the stage's own default learning rate
 *     (SFT 2e-4, DPO 5e-6, reinforcement 1e-5).</li>
 * <li>{@code beta} (DPO): 0.1, DPO's default.</li>
 * </ul>
 * Anything else align4j supports is given under {@value #EXTENSION} in the same object.
 */
public final class Hyperparameters {

    /** The extension key: the stage's own settings by their snake_case names. */
    public static final String EXTENSION = "align4j";

    static final int DEFAULT_BATCH = 8;
    static final double DEFAULT_BETA = 0.1;

    private Hyperparameters() {
    }

    /** As asked: null for {@code "auto"} or absent. */
    public record Requested(Integer nEpochs, Integer batchSize, Double learningRateMultiplier, Double beta) {

        public static final Requested AUTO = new Requested(null, null, null, null);

        static Requested parse(JsonNode hp, String param) {
            return new Requested(whole(hp, "n_epochs", param, 1, 50), whole(hp, "batch_size", param, 1, 256),
                    positive(hp, "learning_rate_multiplier", param, 100), positive(hp, "beta", param, 100));
        }

        private static Integer whole(JsonNode hp, String field, String param, int min, int max) {
            JsonNode n = hp.get(field);
            if (isAuto(n)) {
                return null;
            }
            if (!n.isIntegralNumber() || !n.canConvertToInt() || n.asInt() < min || n.asInt() > max) {
                throw ApiError.invalid(param + "." + field, "'" + param + "." + field + "' must be \"auto\" or a whole"
                        + " number from " + min + " to " + max + ", got " + n + ".");
            }
            return n.asInt();
        }

        private static Double positive(JsonNode hp, String field, String param, double max) {
            JsonNode n = hp.get(field);
            if (isAuto(n)) {
                return null;
            }
            if (!n.isNumber() || !(n.asDouble() > 0) || n.asDouble() > max) {
                throw ApiError.invalid(param + "." + field, "'" + param + "." + field + "' must be \"auto\" or a number"
                        + " above 0 and at most " + max + ", got " + n + ".");
            }
            return n.asDouble();
        }

        private static boolean isAuto(JsonNode n) {
            return n == null || n.isNull() || (n.isTextual() && n.asText().equals("auto"));
        }
    }

    /** Every value decided; {@code beta} only for DPO. */
    public record Resolved(int nEpochs, int batchSize, double learningRateMultiplier, Double beta) {

        /** As OpenAI's job object shows them. */
        public ObjectNode toJson() {
            ObjectNode o = Json.MAPPER.createObjectNode();
            o.put("n_epochs", nEpochs);
            o.put("batch_size", batchSize);
            o.put("learning_rate_multiplier", learningRateMultiplier);
            if (beta != null) {
                o.put("beta", beta);
            }
            return o;
        }
    }

    /** Resolves {@code "auto"} for a training file of {@code records} valid records. */
    public static Resolved resolve(Requested r, JobRequest.Method method, long records) {
        int epochs = r.nEpochs() != null ? r.nEpochs() : Math.max(1, Validator.suggestedEpochs(records));
        int batch = r.batchSize() != null ? r.batchSize() : (int) Math.max(1, Math.min(DEFAULT_BATCH, records));
        double lrm = r.learningRateMultiplier() != null ? r.learningRateMultiplier() : 1.0;
        Double beta = method == JobRequest.Method.DPO ? (r.beta() != null ? r.beta() : DEFAULT_BETA) : null;
        return new Resolved(epochs, batch, lrm, beta);
    }
}
