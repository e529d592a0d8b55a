package org.align4j.serve.jobs;

import java.util.TreeSet;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.util.Json;
import org.align4j.serve.ApiError;

/**
 * The body of {@code POST /v1/fine_tuning/jobs}, parsed field by field: a missing or mistyped field
 * is a 400 whose {@code param} names it ({@code method.dpo.hyperparameters.beta}). Values are
 * checked here for shape and range; which files and models exist is the service's business.
 */
public record JobRequest(String model, String trainingFile, String validationFile, String suffix, Long seed,
                         ObjectNode metadata, Method method, Hyperparameters.Requested hyperparameters,
                         ObjectNode align4j, String hyperparametersParam, JsonNode grader) {

    /** The training methods, by OpenAI's names. */
    public enum Method { SUPERVISED, DPO, REINFORCEMENT;

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private static final Set<String> KEYS = Set.of("model", "training_file", "validation_file", "suffix", "seed",
            "metadata", "method", "hyperparameters", "integrations");
    private static final Pattern SUFFIX = Pattern.compile("[A-Za-z0-9._-]{1,64}");
    /** OpenAI's hyperparameters of each method; {@code align4j} is ours, for every method. */
    private static final Map<Method, Set<String>> HYPERPARAMETERS = Map.of(
            Method.SUPERVISED, Set.of("n_epochs", "batch_size", "learning_rate_multiplier", Hyperparameters.EXTENSION),
            Method.DPO, Set.of("n_epochs", "batch_size", "learning_rate_multiplier", "beta", Hyperparameters.EXTENSION),
            Method.REINFORCEMENT, Set.of("n_epochs", "batch_size", "learning_rate_multiplier",
                    Hyperparameters.EXTENSION));

    public static JobRequest parse(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw ApiError.invalid(null, "The request body must be a JSON object.");
        }
        unknown(body, KEYS, "");
        JsonNode integrations = body.get("integrations");
        if (integrations != null && !integrations.isNull() && !(integrations.isArray() && integrations.isEmpty())) {
            throw ApiError.invalid("integrations", "Integrations (Weights and Biases) are not supported by align4j;"
                    + " every job's metrics are in its events and its run directory.");
        }
        String model = requiredString(body, "model");
        String training = requiredString(body, "training_file");
        String validation = optionalString(body, "validation_file");
        String suffix = optionalString(body, "suffix");
        if (suffix != null && !SUFFIX.matcher(suffix).matches()) {
            throw ApiError.invalid("suffix", "'suffix' must be 1 to 64 letters, digits, '.', '_' or '-', got '" + suffix
                    + "'.");
        }
        Long seed = null;
        JsonNode s = body.get("seed");
        if (s != null && !s.isNull()) {
            if (!s.isIntegralNumber() || !s.canConvertToLong()) {
                throw ApiError.invalid("seed", "'seed' must be an integer, got " + s + ".");
            }
            seed = s.asLong();
        }
        ObjectNode metadata = metadata(body.get("metadata"));

        Method method = Method.SUPERVISED;
        JsonNode hp = null;
        String hpParam = "hyperparameters";
        JsonNode grader = null;
        JsonNode m = body.get("method");
        if (m != null && !m.isNull()) {
            if (!m.isObject()) {
                throw ApiError.invalid("method", "'method' must be an object with a 'type', got " + m.getNodeType() + ".");
            }
            String type = requiredString(m, "type", "method.type");
            method = Arrays.stream(Method.values()).filter(x -> x.id().equals(type)).findFirst()
                    .orElseThrow(() -> ApiError.invalid("method.type", "'method.type' must be supervised, dpo or"
                            + " reinforcement, got '" + type + "'."));
            unknown(m, Set.of("type", method.id()), "method.");
            JsonNode inner = m.get(method.id());
            if (inner != null && !inner.isNull()) {
                if (!inner.isObject()) {
                    throw ApiError.invalid("method." + method.id(), "'method." + method.id() + "' must be an object.");
                }
                unknown(inner, method == Method.REINFORCEMENT ? Set.of("hyperparameters", "grader", "response_format")
                        : Set.of("hyperparameters"), "method." + method.id() + ".");
                hp = inner.get("hyperparameters");
                hpParam = "method." + method.id() + ".hyperparameters";
                grader = inner.get("grader");
                if (inner.has("response_format") && !inner.get("response_format").isNull()) {
                    throw ApiError.invalid("method.reinforcement.response_format", "Structured response formats are"
                            + " not supported by align4j's reinforcement fine-tuning.");
                }
            }
            if (body.has("hyperparameters") && !body.get("hyperparameters").isNull()) {
                throw ApiError.invalid("hyperparameters", "Give hyperparameters in 'method." + method.id()
                        + ".hyperparameters', not also at the top level.");
            }
        } else {
            hp = body.get("hyperparameters");
        }
        if (method == Method.REINFORCEMENT && (grader == null || grader.isNull())) {
            throw ApiError.invalid("method.reinforcement.grader", "Missing required parameter:"
                    + " 'method.reinforcement.grader'.");
        }
        ObjectNode extension = null;
        Hyperparameters.Requested requested = Hyperparameters.Requested.AUTO;
        if (hp != null && !hp.isNull()) {
            if (!hp.isObject()) {
                throw ApiError.invalid(hpParam, "'" + hpParam + "' must be an object.");
            }
            unknown(hp, HYPERPARAMETERS.get(method), hpParam + ".");
            requested = Hyperparameters.Requested.parse(hp, hpParam);
            JsonNode ext = hp.get(Hyperparameters.EXTENSION);
            if (ext != null && !ext.isNull()) {
                if (!ext.isObject()) {
                    throw ApiError.invalid(hpParam + "." + Hyperparameters.EXTENSION, "'" + hpParam + "."
                            + Hyperparameters.EXTENSION + "' must be an object of align4j settings (snake_case names"
                            + " of the stage's options).");
                }
                extension = (ObjectNode) ext;
            }
        }
        return new JobRequest(model, training, validation, suffix, seed, metadata, method, requested,
                extension == null ? Json.MAPPER.createObjectNode() : extension, hpParam, grader);
    }

    /** The param under which the extension settings were given. */
    public String extensionParam() {
        return hyperparametersParam + "." + Hyperparameters.EXTENSION;
    }

    private static ObjectNode metadata(JsonNode md) {
        if (md == null || md.isNull()) {
            return null;
        }
        if (!md.isObject()) {
            throw ApiError.invalid("metadata", "'metadata' must be an object of string values.");
        }
        if (md.size() > 16) {
            throw ApiError.invalid("metadata", "'metadata' holds at most 16 keys, got " + md.size() + ".");
        }
        Iterator<Map.Entry<String, JsonNode>> it = md.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().length() > 64 || !e.getValue().isTextual() || e.getValue().asText().length() > 512) {
                throw ApiError.invalid("metadata." + e.getKey(), "metadata keys are at most 64 characters and values"
                        + " strings of at most 512.");
            }
        }
        return (ObjectNode) md;
    }

    private static void unknown(JsonNode o, Set<String> allowed, String prefix) {
        Iterator<String> it = o.fieldNames();
        while (it.hasNext()) {
            String k = it.next();
            if (!allowed.contains(k)) {
                throw ApiError.invalid(prefix + k, "Unknown parameter: '" + prefix + k + "'" + (allowed.isEmpty() ? ""
                        : "; known here: " + String.join(", ", new TreeSet<>(allowed))) + ".");
            }
        }
    }

    private static String requiredString(JsonNode o, String field) {
        return requiredString(o, field, field);
    }

    private static String requiredString(JsonNode o, String field, String param) {
        JsonNode n = o.get(field);
        if (n == null || n.isNull()) {
            throw ApiError.invalid(param, "Missing required parameter: '" + param + "'.");
        }
        if (!n.isTextual()) {
            throw ApiError.invalid(param, "Invalid type for '" + param + "': expected a string, but got "
                    + n.getNodeType().toString().toLowerCase(Locale.ROOT) + ".");
        }
        return n.asText();
    }

    private static String optionalString(JsonNode o, String field) {
        JsonNode n = o.get(field);
        return n == null || n.isNull() ? null : requiredString(o, field);
    }
}
