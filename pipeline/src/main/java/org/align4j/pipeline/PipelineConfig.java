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
import org.align4j.data.label.LabelTask;
import org.align4j.train.SettingRange;
import org.align4j.train.SettingRanges;
import org.align4j.train.SettingsException;

/**
 * The settings of {@code align4j pipeline}: the base model, one seed, the size of the controlled
 * task, how candidates are sampled and labeled, each training stage's settings (a section holding
 * exactly what that stage's {@code --config} file would, less the paths the pipeline fills in),
 * extra policies to evaluate, the evaluation's sampling and the sweep. A section left out keeps
 * its defaults; an unknown key is an error naming the file and the section, and a number outside
 * its {@link SettingRange} one naming the file and {@code section.key}.
 */
public record PipelineConfig(String baseModel, @SettingRange long seed, Task task, CandidateSettings candidates,
                             Annotators annotators, ObjectNode sft, ObjectNode reward, ObjectNode ppo,
                             ObjectNode ppoPtx, ObjectNode dpo, ObjectNode kto, ObjectNode onlineDpo,
                             Map<String, String> policies, Eval eval, Sweep sweep) {

    /** How many prompts and SFT examples the controlled task draws from the story generator. */
    public record Task(@SettingRange(min = 2, max = 1000000) int trainPrompts,
                       @SettingRange(min = 2, max = 1000000) int heldoutPrompts,
                       @SettingRange(min = 1, max = 1000000) int sftTrain,
                       @SettingRange(min = 1, max = 1000000) int sftVal) {
    }

    /** Candidates sampled from the SFT model for each training prompt. */
    public record CandidateSettings(@SettingRange(min = LabelTask.MIN_K, max = LabelTask.MAX_K) int k,
                                    @SettingRange(min = 0, minExclusive = true, max = 100) double temperature,
                                    @SettingRange(min = 0, minExclusive = true, max = 1) double topP,
                                    @SettingRange(min = 1) int maxNewTokens) {
    }

    /**
     * The simulated annotators: the gold judge ({@code sentiment}, {@code regex:P}, {@code length:N})
     * and their Bradley-Terry temperature; {@code validationFraction} of the tasks is held out from
     * reward-model and DPO training, labeled by a second annotator too for the agreement ceiling.
     */
    public record Annotators(String judge, @SettingRange(min = 0, max = 100) double temperature,
                             @SettingRange(min = 0, minExclusive = true, max = 1, maxExclusive = true)
                             double validationFraction) {
    }

    /** The evaluation's sampling (temperature 1, one seed for every policy) and the examples the report shows. */
    public record Eval(@SettingRange(min = 1) int maxNewTokens, @SettingRange long seed,
                       @SettingRange(min = 1, max = 65536) int batchSize, @SettingRange(min = 0) int examples) {
    }

    /** With {@code --sweep}: DPO at each beta and PPO at each KL coefficient. */
    public record Sweep(@SettingRange(min = 0, minExclusive = true) List<Double> dpoBeta,
                        @SettingRange(min = 0) List<Double> ppoKlCoef) {
    }

    /** The stage sections, by key. */
    public static final List<String> STAGE_SECTIONS = List.of("sft", "reward", "ppo", "ppo_ptx", "dpo", "kto",
            "online_dpo");

    /** The sections of the policies that train only when their section is given (even as {@code {}}). */
    public static final List<String> OPTIONAL_SECTIONS = List.of("kto", "online_dpo");

    public static ObjectNode defaults() {
        ObjectNode d = Json.MAPPER.valueToTree(new PipelineConfig("examples/base-model", 1,
                new Task(400, 200, 2000, 200), new CandidateSettings(4, 1.0, 0.95, 48),
                new Annotators("sentiment", 0.2, 0.15), null, null, null, null, null, null, null, Map.of(),
                new Eval(48, 7, 8, 6), new Sweep(List.of(0.05, 0.1, 0.25, 0.5), List.of(0.02, 0.05, 0.1, 0.2))));
        for (String s : STAGE_SECTIONS) {
            if (!OPTIONAL_SECTIONS.contains(s)) {
                d.putObject(s);
            }
        }
        return d;
    }

    /** Reads {@code file} over the defaults; errors name the file and the key. */
    public static PipelineConfig read(Path file) throws IOException {
        ObjectNode node = Json.readObjectFile(file);
        ObjectNode tree = defaults();
        merge(tree, node, file.toString(), "");
        // the stage sections are checked against their stages' tables when they are resolved
        List<String> outOfRange = SettingRanges.check(node, SettingRanges.of(PipelineConfig.class), file.toString());
        if (!outOfRange.isEmpty()) {
            throw new SettingsException(outOfRange);
        }
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
        for (String name : policies.keySet()) {
            check(p, name.matches("[A-Za-z0-9._-]+"), "policies: '" + name
                    + "' must be letters, digits, '.', '_' and '-' (it names a file)");
        }
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
            case "kto" -> kto;
            case "online_dpo" -> onlineDpo;
            default -> throw new IllegalArgumentException(key);
        };
    }

    /** Whether an optional section was given, so its policy trains. */
    public boolean has(String section) {
        return section(section) != null;
    }

    /** The settings as JSON; an optional section left out is absent (as in configs written before it existed). */
    public ObjectNode toJson() {
        ObjectNode o = Json.MAPPER.valueToTree(this);
        OPTIONAL_SECTIONS.forEach(k -> {
            if (o.path(k).isNull()) {
                o.remove(k);
            }
        });
        return o;
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
