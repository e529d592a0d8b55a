package org.align4j.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.Function;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import picocli.CommandLine.Mixin;
import org.align4j.core.backend.Backend;
import org.align4j.core.chat.ChatMessage;
import org.align4j.core.chat.ChatTemplate;
import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.generate.Generation;
import org.align4j.core.generate.Generator;
import org.align4j.core.generate.SamplingConfig;
import org.align4j.core.loss.SequenceLogProbs;
import org.align4j.data.jsonl.JsonlReader;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.tokenizer.BpeTokenizer;
import org.align4j.core.tokenizer.SpecialTokens;
import org.align4j.core.tokenizer.TokenizerFiles;
import org.nd4j.linalg.api.buffer.DataType;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Generate continuations from a model directory (Hugging Face GPT-2, Llama or Qwen2 layout).",
                "Prompts from --prompt, a JSONL file of {\"prompt\": ...} or {\"messages\": [...]} lines, or raw token ids."},
        footer = {"", "Examples:",
                "  align4j generate --model examples/base-model --prompt 'Once upon a time' --max-new-tokens 40",
                "  align4j generate --model runs/emojibot/final --prompts prompts.jsonl --temperature 0 --json",
                "  align4j generate --model gpt2/ --prompt-ids 464,3290 --logprobs 5 --json"})
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

    @Override
    public Integer call() throws Exception {
        Backend backend = Backend.get();
        DecoderModel m = adapter.source(model).load(backend.kernels(), DataType.FLOAT, false);
        Path tokPath = tokenizerPath != null ? tokenizerPath : model;
        BpeTokenizer tok = TokenizerFiles.exists(tokPath) ? TokenizerFiles.load(tokPath) : null;
        if (tok != null) {
            m.limitVocabulary(tok);
        }
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
        Set<Integer> eos = SpecialTokens.stops(tok, m.config().eosTokenId());
        SamplingConfig cfg = new SamplingConfig(maxNewTokens, temperature, topK, topP, seed, logprobs, eos,
                stops == null ? List.of() : stops);
        Function<int[], String> decoder = tok == null ? null : tok::decode;
        Generator gen = new Generator(m);
        DecoderModel ref = null;
        if (refModel != null) {
            if (!json || temperature != 1.0 || topK != 0 || topP != 1.0) {
                throw new UserError("--ref-model needs --json and plain sampling (--temperature 1, --top-k 0,"
                        + " --top-p 1), so that the sampled log-probabilities are the model's own");
            }
            if (tokenizerPath == null) {
                TokenizerFiles.requireSameTokenizer("--model", model, "--ref-model", refModel);
            }
            ref = ModelDirectory.load(refModel, backend.kernels(), DataType.FLOAT);
        }
        PrintStream out = Console.stdout();
        ObjectMapper om = new ObjectMapper();
        for (int start = 0; start < prompts.size(); start += batchSize) {
            List<int[]> chunk = prompts.subList(start, Math.min(prompts.size(), start + batchSize));
            List<Generation> results = gen.generate(chunk, cfg, decoder);
            double[] refLogp = ref == null ? null : SequenceLogProbs.ofCompletions(ref,
                    results.stream().map(Generation::promptIds).toList(),
                    results.stream().map(Generation::tokenIds).toList(), batchSize, m.config().eosTokenId());
            for (int i = 0; i < results.size(); i++) {
                Generation g = results.get(i);
                String completion = decoder == null ? null : Generator.completionText(g, cfg, decoder);
                if (json) {
                    ObjectNode o = toJson(om, texts.get(start + i), completion, g, tok);
                    if (refLogp != null) {
                        o.put("ref_logprob", refLogp[i]);
                        o.put("kl", g.logprobSum() - refLogp[i]);
                    }
                    out.println(om.writeValueAsString(o));
                } else {
                    out.println(completion == null ? idsToString(g.tokenIds()) : completion);
                    if (prompts.size() > 1) {
                        out.println("---");
                    }
                }
            }
        }
        return 0;
    }

    private static String idsToString(int[] ids) {
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            sb.append(sb.length() == 0 ? "" : " ").append(id);
        }
        return sb.toString();
    }

    private static ObjectNode toJson(ObjectMapper om, String prompt, String completion, Generation g, BpeTokenizer tok) {
        ObjectNode o = om.createObjectNode();
        o.put("prompt", prompt);
        o.put("completion", completion);
        ArrayNode pids = o.putArray("prompt_token_ids");
        for (int id : g.promptIds()) {
            pids.add(id);
        }
        ArrayNode ids = o.putArray("token_ids");
        ArrayNode tokens = o.putArray("tokens");
        for (int id : g.tokenIds()) {
            ids.add(id);
            tokens.add(tok == null ? null : tok.decode(new int[] {id}));
        }
        ArrayNode lp = o.putArray("logprobs");
        for (double v : g.logprobs()) {
            lp.add(v);
        }
        ArrayNode top = o.putArray("top_logprobs");
        for (List<Generation.TokenLogprob> alts : g.topLogprobs()) {
            ArrayNode a = top.addArray();
            for (Generation.TokenLogprob t : alts) {
                a.addObject().put("token", tok == null ? null : tok.decode(new int[] {t.id()})).put("id", t.id())
                        .put("logprob", t.logprob());
            }
        }
        o.put("finish_reason", g.finishReason());
        return o;
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
