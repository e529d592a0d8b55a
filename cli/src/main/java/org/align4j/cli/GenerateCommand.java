package org.align4j.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.chat.ChatMessage;
import org.align4j.core.chat.ChatTemplate;
import org.align4j.core.generate.SamplingConfig;
import org.align4j.core.tokenizer.BpeTokenizer;
import org.align4j.core.tokenizer.SpecialTokens;
import org.align4j.core.tokenizer.TokenizerFiles;
import org.align4j.data.jsonl.JsonlReader;
import org.align4j.train.scale.Cluster;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Generate continuations from a model directory (Hugging Face GPT-2, Llama or Qwen2 layout).",
                "Prompts from --prompt, a JSONL file of {\"prompt\": ...} or {\"messages\": [...]} lines, or raw token ids."},
        footer = {"", "Examples:",
                "  align4j generate --model examples/base-model --prompt 'Once upon a time' --max-new-tokens 40",
                "  align4j generate --model runs/emojibot/final --prompts prompts.jsonl --temperature 0 --json",
                "  align4j generate --model gpt2/ --prompt-ids 464,3290 --logprobs 5 --json",
                "  align4j generate --model runs/emojibot/final --prompts prompts.jsonl --json --spark-master 'local[2]'"})
final class GenerateCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, description = "model directory")
    Path model;
    @Mixin
    AdapterOption adapter;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    static final class Source {
        @Option(names = "--prompt", description = "one prompt text")
        String prompt;
        @Option(names = "--prompts", description = "JSONL file: {\"prompt\": TEXT} or {\"messages\": [...]} per line")
        Path prompts;
        @Option(names = "--prompt-ids", split = ",", description = "one prompt as token ids, e.g. 1,2,3")
        int[] promptIds;
    }

    @Option(names = "--tokenizer", description = "tokenizer directory or tokenizer.json (default: the model directory)")
    Path tokenizerPath;
    @Range(min = 1)
    @Option(names = "--max-new-tokens", defaultValue = "64", description = "default ${DEFAULT-VALUE}")
    int maxNewTokens;
    @Range(min = 0, max = 100)
    @Option(names = "--temperature", defaultValue = "1.0", description = "0 = greedy (default ${DEFAULT-VALUE})")
    double temperature;
    @Range(min = 0)
    @Option(names = "--top-k", defaultValue = "0", description = "keep the k most likely tokens; 0 = off")
    int topK;
    @Range(min = 0, max = 1, minExclusive = true)
    @Option(names = "--top-p", defaultValue = "1.0", description = "nucleus sampling mass; 1 = off")
    double topP;
    @Range()
    @Option(names = "--seed", defaultValue = "0", description = "sampling seed (default ${DEFAULT-VALUE})")
    long seed;
    @Range(min = 0, max = 20)
    @Option(names = "--logprobs", defaultValue = "0", description = "report the top N alternatives per token")
    int logprobs;
    @Option(names = "--stop", description = "stop string (repeatable)")
    List<String> stops;
    @Range(min = 1, max = 65536)
    @Option(names = "--batch-size", defaultValue = "8", description = "prompts generated together (default ${DEFAULT-VALUE})")
    int batchSize;
    @Option(names = "--ref-model", paramLabel = "DIR",
            description = "with --json, also the reference model's log-probability of each completion ('ref_logprob')"
                    + " and the sample's log-ratio 'kl' = sum(logprobs) - ref_logprob, whose mean estimates KL(model ||"
                    + " reference); needs plain sampling (--temperature 1, no --top-k/--top-p)")
    Path refModel;
    @Option(names = "--json", description = "one JSON object per prompt")
    boolean json;
    @Mixin
    SparkOption spark;

    @Override
    public Integer call() throws Exception {
        Path tokPath = tokenizerPath != null ? tokenizerPath : model;
        if (refModel != null) {
            if (!json || temperature != 1.0 || topK != 0 || topP != 1.0) {
                throw new UserError("--ref-model needs --json and plain sampling (--temperature 1, --top-k 0,"
                        + " --top-p 1), so that the sampled log-probabilities are the model's own");
            }
            if (tokenizerPath == null) {
                TokenizerFiles.requireSameTokenizer("--model", model, "--ref-model", refModel);
            }
        }
        // loaded here in every case: a bad model, tokenizer or prompt file is refused before any job starts
        GenerateWork.Loaded env = GenerateWork.load(model, adapter.adapter, tokPath, refModel);
        BpeTokenizer tok = env.tokenizer();
        if (tok == null && source.promptIds == null) {
            throw new UserError(tokPath + ": no tokenizer (tokenizer.json or vocab.json + merges.txt); give --tokenizer"
                    + " or use --prompt-ids");
        }
        List<int[]> prompts = new ArrayList<>();
        List<String> texts = new ArrayList<>();
        if (source.prompt != null) {
            texts.add(source.prompt);
            prompts.add(tok.encode(source.prompt, true));
        } else if (source.promptIds != null) {
            prompts.add(source.promptIds);
            texts.add(tok == null ? null : tok.decode(source.promptIds));
        } else {
            readPromptFile(source.prompts, tok, ChatTemplate.forModel(model), prompts, texts);
        }
        Set<Integer> eos = SpecialTokens.stops(tok, env.model().config().eosTokenId());
        SamplingConfig cfg = new SamplingConfig(maxNewTokens, temperature, topK, topP, seed, logprobs, eos,
                stops == null ? List.of() : stops);
        GenerateWork work = new GenerateWork(cfg, batchSize, json, prompts.size() > 1);
        List<GenerateWork.Batch> batches = GenerateWork.batches(texts, prompts, batchSize);
        PrintStream out = Console.stdout();
        if (spark.enabled()) {
            Cluster cluster = spark.connect();
            Map<String, Path> shipped = new HashMap<>();
            shipped.put(GenerateWork.MODEL, model);
            shipped.put(GenerateWork.ADAPTER, adapter.adapter);
            shipped.put(GenerateWork.TOKENIZER, tokPath);
            shipped.put(GenerateWork.REF, refModel);
            for (String text : cluster.mapInOrder(batches, spark.partitions(cluster), shipped, work)) {
                out.print(text);
            }
        } else {
            for (GenerateWork.Batch b : batches) {
                out.print(work.text(env, b));
            }
        }
        out.flush();
        return 0;
    }

    private static void readPromptFile(Path file, BpeTokenizer tok, ChatTemplate template, List<int[]> prompts,
                                       List<String> texts) throws IOException {
        try (JsonlReader in = new JsonlReader(file)) {
            JsonlReader.Line line;
            while ((line = in.next()) != null) {
                long n = line.number();
                if (!line.ok()) {
                    throw new UserError(file + ":" + n + ": not JSON: " + line.error());
                }
                JsonNode node = line.json();
                if (node == null || !node.isObject()) {
                    throw new UserError(file + ":" + n + ": not a JSON object");
                }
                if (node.path("prompt").isTextual()) {
                    String p = node.get("prompt").asText();
                    texts.add(p);
                    prompts.add(tok.encode(p, true));
                } else if (node.path("messages").isArray()) {
                    List<ChatMessage> msgs = new ArrayList<>();
                    int k = 0;
                    for (JsonNode msg : node.get("messages")) {
                        try {
                            msgs.add(new ChatMessage(msg.path("role").asText(null), msg.path("content").asText(null),
                                    null));
                        } catch (IllegalArgumentException e) {
                            throw new UserError(file + ":" + n + ": field 'messages[" + k + "]': " + e.getMessage());
                        }
                        k++;
                    }
                    texts.add(template.renderText(msgs, true));
                    prompts.add(template.render(msgs, tok, true).ids());
                } else {
                    throw new UserError(file + ":" + n + ": needs a string field 'prompt' or a list field 'messages'");
                }
            }
        }
        if (prompts.isEmpty()) {
            throw new UserError(file + ": no prompts");
        }
    }
}
