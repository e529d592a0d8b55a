package org.align4j.reward.grader;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.chat.ChatMessage;
import org.align4j.core.util.InputFiles;
import org.align4j.core.util.Json;
import org.align4j.core.util.UserInputException;
import org.align4j.reward.RewardScorer;
import org.align4j.reward.fn.SentimentJudge;

/**
 * Reads a grader from JSON in OpenAI's shape ({@code string_check}, {@code text_similarity},
 * {@code score_model} with a local reward model or a chat model behind an OpenAI-compatible
 * endpoint, {@code multi}) or one of align4j's own
 * ({@code regex}, {@code length}, {@code sentiment}, {@code json_schema}, {@code math_answer}),
 * and the {@code --reward-fn} values, which become the same grader objects. The whole file is
 * checked before any work: an unknown key or type, a missing field, a bad operation, metric,
 * template, pattern, schema or formula is one error naming the file and the JSON path
 * ({@code graders.json: $.graders.accuracy.operation: ...}).
 */
public final class GraderParser {

    /** Loads the reward model a local {@code score_model} names. */
    @FunctionalInterface
    public interface ModelLoader {
        RewardScorer load(Path dir) throws IOException;
    }

    /** The grader types align4j runs: OpenAI's four, then its own. */
    enum Type { STRING_CHECK, TEXT_SIMILARITY, SCORE_MODEL, MULTI, REGEX, LENGTH, SENTIMENT, JSON_SCHEMA, MATH_ANSWER;

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }

        static String known() {
            return String.join(", ", Arrays.stream(values()).map(Type::toString).toList());
        }
    }

    private final String source;
    private final ModelLoader loader;

    private GraderParser(String source, ModelLoader loader) {
        this.source = source;
        this.loader = loader;
    }

    /** Reads and checks a grader file. */
    public static Grader read(Path file, ModelLoader loader) throws IOException {
        InputFiles.requireReadableFile(file);
        JsonNode root;
        try (JsonParser p = Json.MAPPER.getFactory().createParser(Files.readAllBytes(file))) {
            p.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
            root = Json.MAPPER.readTree(p);
            if (p.nextToken() != null) {
                throw new UserInputException(file + ":" + p.getCurrentLocation().getLineNr()
                        + ": not valid JSON: more than one value in the file");
            }
        } catch (JacksonException e) {
            throw new UserInputException(file + ":" + e.getLocation().getLineNr() + ": not valid JSON: "
                    + e.getOriginalMessage());
        }
        if (root == null) {
            throw new UserInputException(file + ": empty; expected a grader object");
        }
        return parse(root, file.toString(), loader);
    }

    /** Checks and builds a grader from JSON; {@code source} names where it came from in every error. */
    public static Grader parse(JsonNode root, String source, ModelLoader loader) throws IOException {
        return new GraderParser(source, loader).grader(root, "$");
    }

    /** A {@code --reward-fn} value as a grader: sentiment, regex:PATTERN or length:N. */
    public static Grader rewardFn(String spec) throws IOException {
        return rewardFn(spec, "--reward-fn");
    }

    /** As {@link #rewardFn(String)} for a judge given to {@code option} (a flag or a config file's key). */
    public static Grader rewardFn(String spec, String option) throws IOException {
        if (spec.equals("sentiment")) {
            return new SentimentGrader("sentiment", Template.OUTPUT_TEXT, SentimentJudge.load());
        }
        if (spec.startsWith("regex:")) {
            try {
                return new RegexGrader(spec, Template.OUTPUT_TEXT, Pattern.compile(spec.substring("regex:".length())));
            } catch (PatternSyntaxException e) {
                throw new UserInputException(option + " regex: not a valid regular expression: " + e.getDescription());
            }
        }
        if (spec.startsWith("length:")) {
            int n;
            try {
                n = Integer.parseInt(spec.substring("length:".length()));
            } catch (NumberFormatException e) {
                throw new UserInputException(option + " length:N needs a whole number of tokens, got '" + spec + "'");
            }
            if (n < 1) {
                throw new UserInputException(option + " length:N needs N >= 1, got " + n);
            }
            return new LengthGrader(spec, n);
        }
        throw new UserInputException(option + ": unknown function '" + spec + "'; valid values: sentiment,"
                + " regex:PATTERN, length:N" + (option.equals("--reward-fn") ? " (or --grader FILE.json)" : ""));
    }

    private UserInputException error(String path, String message) {
        return new UserInputException(source + ": " + path + ": " + message);
    }

    private Grader grader(JsonNode g, String path) throws IOException {
        if (!g.isObject()) {
            throw error(path, "a grader must be a JSON object with a 'type', got " + g.getNodeType().toString()
                    .toLowerCase(Locale.ROOT));
        }
        String typeName = text(g, "type", path);
        if (typeName.equals("python")) {
            throw error(path, "type 'python' is not supported: align4j does not run Python code; use regex,"
                    + " json_schema, math_answer, string_check or text_similarity, combined with multi");
        }
        if (typeName.equals("label_model")) {
            throw error(path, "type 'label_model' is not supported (it needs a chat model as judge); use score_model"
                    + " with a local reward model, or string_check");
        }
        Type type = Arrays.stream(Type.values()).filter(t -> t.toString().equals(typeName)).findFirst()
                .orElseThrow(() -> error(path + ".type", "unknown grader type '" + typeName + "' (" + Type.known()
                        + ")"));
        String name = text(g, "name", path);
        return switch (type) {
            case STRING_CHECK -> {
                keys(g, path, "input", "reference", "operation");
                String op = text(g, "operation", path);
                StringCheckGrader.Operation operation = Arrays.stream(StringCheckGrader.Operation.values())
                        .filter(o -> o.toString().equals(op)).findFirst()
                        .orElseThrow(() -> error(path + ".operation", "unknown operation '" + op + "' (eq, ne, like,"
                                + " ilike)"));
                yield new StringCheckGrader(name, template(g, "input", path), template(g, "reference", path), operation);
            }
            case TEXT_SIMILARITY -> {
                keys(g, path, "input", "reference", "evaluation_metric", "pass_threshold");
                optionalNumber(g, "pass_threshold", path);
                String m = text(g, "evaluation_metric", path);
                if (m.equals("cosine")) {
                    throw error(path + ".evaluation_metric", "'cosine' needs an embeddings model, which align4j does"
                            + " not have; use fuzzy_match, bleu, gleu, meteor, rouge_1..rouge_5 or rouge_l");
                }
                TextSimilarityGrader.Metric metric = Arrays.stream(TextSimilarityGrader.Metric.values())
                        .filter(x -> x.toString().equals(m)).findFirst()
                        .orElseThrow(() -> error(path + ".evaluation_metric", "unknown metric '" + m + "' ("
                                + String.join(", ", Arrays.stream(TextSimilarityGrader.Metric.values())
                                .map(Object::toString).toList()) + ")"));
                yield new TextSimilarityGrader(name, template(g, "input", path), template(g, "reference", path), metric);
            }
            case SCORE_MODEL -> scoreModel(g, name, path);
            case MULTI -> multi(g, name, path);
            case REGEX -> {
                keys(g, path, "input", "pattern");
                String p = text(g, "pattern", path);
                try {
                    yield new RegexGrader(name, optionalTemplate(g, path), Pattern.compile(p));
                } catch (PatternSyntaxException e) {
                    throw error(path + ".pattern", "not a valid regular expression: " + e.getDescription());
                }
            }
            case LENGTH -> {
                keys(g, path, "target");
                JsonNode t = required(g, "target", path);
                if (!t.isIntegralNumber() || t.asLong() < 1 || t.asLong() > Integer.MAX_VALUE) {
                    throw error(path + ".target", "must be a whole number of tokens >= 1, got " + t);
                }
                yield new LengthGrader(name, t.asInt());
            }
            case SENTIMENT -> {
                keys(g, path, "input");
                yield new SentimentGrader(name, optionalTemplate(g, path), SentimentJudge.load());
            }
            case JSON_SCHEMA -> {
                keys(g, path, "input", "schema");
                try {
                    yield new JsonSchemaGrader(name, optionalTemplate(g, path), JsonSchema.compile(required(g, "schema",
                            path), path + ".schema"));
                } catch (IllegalArgumentException e) {
                    throw new UserInputException(source + ": " + e.getMessage());
                }
            }
            case MATH_ANSWER -> {
                keys(g, path, "input", "reference", "tolerance");
                Double tol = optionalNumber(g, "tolerance", path);
                if (tol != null && tol < 0) {
                    throw error(path + ".tolerance", "must be >= 0, got " + tol);
                }
                yield new MathAnswerGrader(name, optionalTemplate(g, path), template(g, "reference", path),
                        tol == null ? 1e-6 : tol);
            }
        };
    }

    private Grader scoreModel(JsonNode g, String name, String path) throws IOException {
        keys(g, path, "model", "input", "range", "pass_threshold", "sampling_params", "base_url", "api_key_env");
        optionalNumber(g, "pass_threshold", path);
        String model = text(g, "model", path);
        if (g.has("base_url")) {
            return chatJudge(g, name, model, path);
        }
        if (g.has("sampling_params") || g.has("api_key_env")) {
            throw error(path + (g.has("sampling_params") ? ".sampling_params" : ".api_key_env"), "applies to a chat"
                    + " model as judge (give its OpenAI-compatible endpoint as 'base_url'); a local reward model"
                    + " samples nothing");
        }
        Path dir = Path.of(model);
        if (!Files.isDirectory(dir)) {
            throw error(path + ".model", "'" + model + "' is not a directory: score_model needs a local reward-model"
                    + " directory (align4j reward's final/), or a chat model behind an OpenAI-compatible endpoint"
                    + " given as 'base_url' (e.g. \"http://127.0.0.1:8000/v1\" for align4j serve)");
        }
        List<ScoreModelGrader.Message> input = g.has("input") ? messages(g, path) : null;
        if (input != null && !input.get(input.size() - 1).role().equals("assistant")) {
            throw error(path + ".input[" + (input.size() - 1) + "].role", "the last message must be the assistant's"
                    + " reply the reward model scores, e.g. {\"role\": \"assistant\", \"content\":"
                    + " \"{{sample.output_text}}\"}");
        }
        double[] range = g.has("range") ? range(g, path) : null;
        if (loader == null) {
            throw error(path, "score_model cannot be used here (no backend to run a reward model)");
        }
        RewardScorer scorer;
        try {
            scorer = loader.load(dir);
        } catch (IOException | IllegalArgumentException e) {
            throw error(path + ".model", e.getMessage());
        }
        return new ScoreModelGrader(name, model, scorer, input, range);
    }

    /** Keys of OpenAI's {@code sampling_params} that an OpenAI-compatible chat endpoint takes. */
    private static final Set<String> SAMPLING_PARAMS = Set.of("temperature", "top_p", "seed", "max_completions_tokens");

    /** A chat model behind an OpenAI-compatible endpoint as judge: its reply's first number is the score. */
    private Grader chatJudge(JsonNode g, String name, String model, String path) {
        String url = text(g, "base_url", path);
        URI base;
        try {
            base = new URI(url);
        } catch (URISyntaxException e) {
            throw error(path + ".base_url", "not a URL: " + e.getMessage());
        }
        if (!("http".equals(base.getScheme()) || "https".equals(base.getScheme())) || base.getHost() == null) {
            throw error(path + ".base_url", "must be an http(s) URL such as http://127.0.0.1:8000/v1, got '" + url + "'");
        }
        if (!g.has("input")) {
            throw error(path, "missing 'input': a chat judge needs the messages it is asked, e.g. a user message"
                    + " with {{item.prompt}} and {{sample.output_text}} asking for a score");
        }
        List<ScoreModelGrader.Message> input = messages(g, path);
        double[] range = g.has("range") ? range(g, path) : new double[] {0, 1};
        ObjectNode sampling = Json.MAPPER.createObjectNode();
        if (g.has("sampling_params")) {
            JsonNode sp = g.get("sampling_params");
            if (!sp.isObject()) {
                throw error(path + ".sampling_params", "must be an object");
            }
            allowOnly(sp, path + ".sampling_params", SAMPLING_PARAMS);
            sp.fields().forEachRemaining(e -> {
                if (!e.getValue().isNumber()) {
                    throw error(path + ".sampling_params." + e.getKey(), "must be a number, got " + e.getValue());
                }
                // OpenAI's grader spells it max_completions_tokens; the chat API max_completion_tokens
                sampling.set(e.getKey().equals("max_completions_tokens") ? "max_completion_tokens" : e.getKey(),
                        e.getValue());
            });
        }
        String keyEnv = g.has("api_key_env") ? text(g, "api_key_env", path) : "ALIGN4J_JUDGE_API_KEY";
        String key = System.getenv(keyEnv);
        if (g.has("api_key_env") && (key == null || key.isBlank())) {
            throw error(path + ".api_key_env", "the environment variable " + keyEnv + " is not set");
        }
        return new ChatJudgeGrader(name, model, base, key == null || key.isBlank() ? null : key, input, range,
                sampling, Duration.ofSeconds(120), HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build());
    }

    /** The templated {@code input} messages of a {@code score_model}. */
    private List<ScoreModelGrader.Message> messages(JsonNode g, String path) {
        JsonNode in = g.get("input");
        if (!in.isArray() || in.isEmpty()) {
            throw error(path + ".input", "must be a non-empty array of {\"role\", \"content\"} messages");
        }
        List<ScoreModelGrader.Message> input = new ArrayList<>();
        for (int i = 0; i < in.size(); i++) {
            String mp = path + ".input[" + i + "]";
            JsonNode m = in.get(i);
            if (!m.isObject()) {
                throw error(mp, "must be a {\"role\", \"content\"} message");
            }
            allowOnly(m, mp, Set.of("role", "content", "type"));
            if (m.has("type") && !m.get("type").asText().equals("message")) {
                throw error(mp + ".type", "must be 'message', got " + m.get("type"));
            }
            String role = text(m, "role", mp);
            String r = role.equals("developer") ? "system" : role;
            if (!ChatMessage.ROLES.contains(r)) {
                throw error(mp + ".role", "unknown role '" + role + "' (system, developer, user, assistant)");
            }
            if (!m.path("content").isTextual()) {
                throw error(mp + ".content", "must be text (align4j's judges read text only)");
            }
            input.add(new ScoreModelGrader.Message(r, template(m, "content", mp)));
        }
        return input;
    }

    private double[] range(JsonNode g, String path) {
        JsonNode r = g.get("range");
        if (!r.isArray() || r.size() != 2 || !r.get(0).isNumber() || !r.get(1).isNumber()
                || r.get(0).asDouble() >= r.get(1).asDouble()) {
            throw error(path + ".range", "must be [low, high] with low < high, got " + r);
        }
        return new double[] {r.get(0).asDouble(), r.get(1).asDouble()};
    }

    private Grader multi(JsonNode g, String name, String path) throws IOException {
        keys(g, path, "graders", "calculate_output");
        JsonNode gs = required(g, "graders", path);
        if (!gs.isObject() || gs.isEmpty()) {
            throw error(path + ".graders", "must be a non-empty object of named graders");
        }
        Map<String, Grader> graders = new LinkedHashMap<>();
        for (var it = gs.fields(); it.hasNext(); ) {
            var e = it.next();
            graders.put(e.getKey(), grader(e.getValue(), path + ".graders." + e.getKey()));
        }
        String expr = text(g, "calculate_output", path);
        Formula f;
        try {
            f = Formula.parse(expr);
        } catch (IllegalArgumentException e) {
            throw error(path + ".calculate_output", e.getMessage());
        }
        for (String n : f.names()) {
            if (!graders.containsKey(n)) {
                throw error(path + ".calculate_output", "'" + n + "' is not one of the graders ("
                        + String.join(", ", graders.keySet()) + ")");
            }
        }
        return new MultiGrader(name, graders, f);
    }

    /** Refuses a grader's keys other than type, name and {@code allowed}. */
    private void keys(JsonNode g, String path, String... allowed) {
        Set<String> ok = new TreeSet<>(List.of(allowed));
        ok.add("type");
        ok.add("name");
        allowOnly(g, path, ok);
    }

    private void allowOnly(JsonNode g, String path, Set<String> allowed) {
        Set<String> ok = new TreeSet<>(allowed);
        for (var it = g.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!ok.contains(k)) {
                throw error(path + "." + k, "unknown key (allowed here: " + String.join(", ", ok) + ")");
            }
        }
    }

    private JsonNode required(JsonNode g, String key, String path) {
        JsonNode v = g.get(key);
        if (v == null || v.isNull()) {
            throw error(path, "missing '" + key + "'");
        }
        return v;
    }

    private String text(JsonNode g, String key, String path) {
        JsonNode v = required(g, key, path);
        if (!v.isTextual()) {
            throw error(path + "." + key, "must be a string, got " + v);
        }
        return v.asText();
    }

    private Double optionalNumber(JsonNode g, String key, String path) {
        JsonNode v = g.get(key);
        if (v == null) {
            return null;
        }
        if (!v.isNumber()) {
            throw error(path + "." + key, "must be a number, got " + v);
        }
        return v.asDouble();
    }

    private Template template(JsonNode g, String key, String path) {
        String s = text(g, key, path);
        try {
            return Template.parse(s);
        } catch (IllegalArgumentException e) {
            throw error(path + "." + key, e.getMessage());
        }
    }

    /** The optional 'input' of align4j's own graders: the response when absent. */
    private Template optionalTemplate(JsonNode g, String path) {
        return g.has("input") ? template(g, "input", path) : Template.OUTPUT_TEXT;
    }
}
