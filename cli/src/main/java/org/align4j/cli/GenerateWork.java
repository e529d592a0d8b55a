package org.align4j.cli;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.backend.Backend;
import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.checkpoint.ModelSource;
import org.align4j.core.generate.Generation;
import org.align4j.core.generate.Generator;
import org.align4j.core.generate.SamplingConfig;
import org.align4j.core.loss.SequenceLogProbs;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.tokenizer.BpeTokenizer;
import org.align4j.core.tokenizer.TokenizerFiles;
import org.align4j.train.scale.Cluster;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * {@code generate}'s work on one batch of prompts, turned into its output text: the same code in one
 * process and on Spark executors, so the two print the same bytes. Batches are cut from the prompt
 * list by {@code --batch-size} in both, and each record samples from its own generator, seeded by its
 * index in the list.
 */
final class GenerateWork implements Cluster.SliceWork<GenerateWork.Batch, String> {

    private static final long serialVersionUID = 1L;

    /** Names under which a job ships its files (Spark broadcasts them once per job). */
    static final String MODEL = "model";
    static final String ADAPTER = "adapter";
    static final String TOKENIZER = "tokenizer";
    static final String REF = "ref";

    /** Records {@code first}, {@code first + 1}, ... of the prompt list: their texts and token ids. */
    record Batch(long first, ArrayList<String> texts, ArrayList<int[]> ids) implements Serializable {
    }

    /** The models and tokenizer one process (or one task) generates with. */
    record Loaded(DecoderModel model, BpeTokenizer tokenizer, DecoderModel ref) {
    }

    private final SamplingConfig cfg;
    private final int batchSize;
    private final boolean json;
    /** Text output separates completions with "---" lines when there is more than one prompt. */
    private final boolean separators;

    GenerateWork(SamplingConfig cfg, int batchSize, boolean json, boolean separators) {
        this.cfg = cfg;
        this.batchSize = batchSize;
        this.json = json;
        this.separators = separators;
    }

    /** The prompt list cut into batches of {@code batchSize}, as the single process generates them. */
    static List<Batch> batches(List<String> texts, List<int[]> prompts, int batchSize) {
        List<Batch> out = new ArrayList<>();
        for (int start = 0; start < prompts.size(); start += batchSize) {
            int end = Math.min(prompts.size(), start + batchSize);
            out.add(new Batch(start, new ArrayList<>(texts.subList(start, end)),
                    new ArrayList<>(prompts.subList(start, end))));
        }
        return out;
    }

    /** Loads what {@code generate} runs with; the driver validates with it, each task loads its own. */
    static Loaded load(Path model, Path adapter, Path tokenizer, Path ref) throws IOException {
        DecoderModel m = new ModelSource(model, adapter).load(Backend.get().kernels(), DataType.FLOAT, false);
        BpeTokenizer tok = TokenizerFiles.exists(tokenizer) ? TokenizerFiles.load(tokenizer) : null;
        if (tok != null) {
            m.limitVocabulary(tok);
        }
        DecoderModel r = ref == null ? null : ModelDirectory.load(ref, Backend.get().kernels(), DataType.FLOAT);
        return new Loaded(m, tok, r);
    }

    @Override
    public List<String> run(List<Batch> slice, Cluster.Shipped files) throws IOException {
        // a task's own replica: models keep per-forward buffers, so concurrent tasks must not share one
        Loaded env = load(files.path(MODEL), files.path(ADAPTER), files.path(TOKENIZER), files.path(REF));
        List<String> out = new ArrayList<>();
        for (Batch b : slice) {
            out.add(text(env, b));
        }
        return out;
    }

    /** The output of one batch: its records' lines, in order, each ending in a newline. */
    String text(Loaded env, Batch batch) throws IOException {
        BpeTokenizer tok = env.tokenizer();
        Function<int[], String> decoder = tok == null ? null : tok::decode;
        List<Generation> results = new Generator(env.model()).generate(batch.ids(), cfg, decoder, batch.first());
        double[] refLogp = env.ref() == null ? null : SequenceLogProbs.ofCompletions(env.ref(),
                results.stream().map(Generation::promptIds).toList(),
                results.stream().map(Generation::tokenIds).toList(), batchSize, env.model().config().eosTokenId());
        ObjectMapper om = new ObjectMapper();
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < results.size(); i++) {
            Generation g = results.get(i);
            String completion = decoder == null ? null : Generator.completionText(g, cfg, decoder);
            if (json) {
                ObjectNode o = toJson(om, batch.texts().get(i), completion, g, tok);
                if (refLogp != null) {
                    o.put("ref_logprob", refLogp[i]);
                    o.put("kl", g.logprobSum() - refLogp[i]);
                }
                sb.append(om.writeValueAsString(o)).append('\n');
            } else {
                sb.append(completion == null ? idsToString(g.tokenIds()) : completion).append('\n');
                if (separators) {
                    sb.append("---\n");
                }
            }
        }
        return sb.toString();
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
}
