package org.align4j.pipeline;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.util.Json;
import org.align4j.core.util.UserInputException;

/**
 * The settings of {@code align4j pipeline}: the base model, one seed, the size of the controlled
 * task, how candidates are sampled and labeled, each training stage's settings (a section holding
 * exactly what that stage's {@code --config} file would, less the paths the pipeline fills in),
 * extra policies to evaluate, the evaluation's sampling and the sweep. A section left out keeps
 * its defaults; an unknown key is an error naming the file and the section.
 */
public record PipelineConfig(String baseModel, long seed, Task task, CandidateSettings candidates,
                             Annotators annotators, ObjectNode sft, ObjectNode reward, ObjectNode ppo,
                             ObjectNode ppoPtx, ObjectNode dpo, Map<String, String> policies, Eval eval,
                             Sweep sweep) {

    /** How many prompts and SFT examples the controlled task draws from the story generator. */
    public record Task(int trainPrompts, int heldoutPrompts, int sftTrain, int sftVal) {
    }

    /** Candidates sampled from the SFT model for each training prompt. */
    public record CandidateSettings(int k, double temperature, double topP, int maxNewTokens) {
    }

    /**
     * The simulated annotators: the gold judge ({@code sentiment}, {@code regex:P}, {@code length:N})
     * and their Bradley-Terry temperature; {@code validationFraction} of the tasks is held out from
     * reward-model and DPO training, labeled by a second annotator too for the agreement ceiling.
     */
    public record Annotators(String judge, double temperature, double validationFraction) {
    }

    /** The evaluation's sampling (temperature 1, one seed for every policy) and the examples the report shows. */
    public record Eval(int maxNewTokens, long seed, int batchSize, int examples) {
    }

    /** With {@code --sweep}: DPO at each beta and PPO at each KL coefficient. */
    public record Sweep(List<Double> dpoBeta, List<Double> ppoKlCoef) {
    }

    /** The stage sections, by key. */
    public static final List<String> STAGE_SECTIONS = List.of("sft", "reward", "ppo", "ppo_ptx", "dpo");

    public static ObjectNode defaults() {
        ObjectNode d = Json.MAPPER.valueToTree(new PipelineConfig("examples/base-model", 1,
                new Task(400, 200, 2000, 200), new CandidateSettings(4, 1.0, 0.95, 48),
                new Annotators("sentiment", 0.2, 0.15), null, null, null, null, null, Map.of(),
                new Eval(48, 7, 8, 6), new Sweep(List.of(0.05, 0.1, 0.25, 0.5), List.of(0.02, 0.05, 0.1, 0.2))));
        for (String s : STAGE_SECTIONS) {
            d.putObject(s);
        }
        return d;
    }

    /** Reads {@code file} over the defaults; errors name the file and the key. */
    public static PipelineConfig read(Path file) throws IOException {
        ObjectNode node = Json.readObjectFile(file);
        ObjectNode tree = defaults();
        merge(tree, node, file.toString(), "");
        try {
            return Json.MAPPER.treeToValue(tree, PipelineConfig.class);
        } catch (JsonMappingException e) {
            List<String> path = new ArrayList<>();
            e.getPath().forEach(r -> path.add(r.getFieldName() == null ? "[" + r.getIndex() + "]" : r.getFieldName()));
            throw new IOException(file + ": setting '" + String.join(".", path) + "': " + e.getOriginalMessage());
        }
    }

    /** Overlays {@code from} on {@code into}; sub-objects merge, except stage sections and policies, taken whole. */
    private static void merge(ObjectNode into, ObjectNode from, String file, String prefix) {
        Iterator<Map.Entry<String, JsonNode>> it = from.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = e.getKey();
            if (!into.has(key)) {
                throw new UserInputException(file + ": unknown setting '" + prefix + key + "'; known: "
                        + String.join(", ", new TreeSet<>(names(into))));
            }
            JsonNode current = into.get(key);
            boolean whole = prefix.isEmpty() && (STAGE_SECTIONS.contains(key) || key.equals("policies"));
            if (current.isObject() && e.getValue().isObject() && !whole) {
                merge((ObjectNode) current, (ObjectNode) e.getValue(), file, prefix + key + ".");
            } else {
                into.set(key, e.getValue());
            }
        }
    }

    private static List<String> names(ObjectNode o) {
        List<String> n = new ArrayList<>();
        o.fieldNames().forEachRemaining(n::add);
        return n;
    }

    /** Problems with the values, each naming its key; empty when they are fine. */
    public List<String> problems() {
        List<String> p = new ArrayList<>();
        check(p, baseModel != null && !baseModel.isBlank(), "base_model is required (a model directory)");
        check(p, task.trainPrompts() >= 2, "task.train_prompts must be at least 2");
        check(p, task.heldoutPrompts() >= 2, "task.heldout_prompts must be at least 2");
        check(p, task.sftTrain() >= 1, "task.sft_train must be at least 1");
        check(p, task.sftVal() >= 1, "task.sft_val must be at least 1");
        check(p, candidates.k() >= 2 && candidates.k() <= 9, "candidates.k must be between 2 and 9");
        check(p, candidates.temperature() > 0, "candidates.temperature must be above 0");
        check(p, candidates.topP() > 0 && candidates.topP() <= 1, "candidates.top_p must be in (0, 1]");
        check(p, candidates.maxNewTokens() >= 1, "candidates.max_new_tokens must be at least 1");
        check(p, annotators.temperature() >= 0, "annotators.temperature must be >= 0");
        check(p, annotators.validationFraction() > 0 && annotators.validationFraction() < 1,
                "annotators.validation_fraction must be in (0, 1)");
        check(p, eval.maxNewTokens() >= 1, "eval.max_new_tokens must be at least 1");
        check(p, eval.batchSize() >= 1, "eval.batch_size must be at least 1");
        check(p, eval.examples() >= 0, "eval.examples must be >= 0");
        for (String name : policies.keySet()) {
            check(p, name.matches("[A-Za-z0-9._-]+"), "policies: '" + name
                    + "' must be letters, digits, '.', '_' and '-' (it names a file)");
        }
        sweep.dpoBeta().forEach(b -> check(p, b > 0, "sweep.dpo_beta: " + b + " must be above 0"));
        sweep.ppoKlCoef().forEach(b -> check(p, b >= 0, "sweep.ppo_kl_coef: " + b + " must be >= 0"));
        return p;
    }

    /** A stage section by key. */
    public ObjectNode section(String key) {
        return switch (key) {
            case "sft" -> sft;
            case "reward" -> reward;
            case "ppo" -> ppo;
            case "ppo_ptx" -> ppoPtx;
            case "dpo" -> dpo;
            default -> throw new IllegalArgumentException(key);
        };
    }

    public ObjectNode toJson() {
        return Json.MAPPER.valueToTree(this);
    }

    /** Extra policies in the order given. */
    public Map<String, String> extraPolicies() {
        return policies == null ? Map.of() : new LinkedHashMap<>(policies);
    }

    private static void check(List<String> p, boolean ok, String message) {
        if (!ok) {
            p.add(message);
        }
    }
}
