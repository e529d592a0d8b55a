package org.align4j.train.eval;

import org.align4j.core.util.UserInputException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

import org.align4j.core.chat.ChatMessage;
import org.align4j.core.generate.Generation;
import org.align4j.core.generate.Generator;
import org.align4j.core.generate.SamplingConfig;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.tokenizer.SpecialTokens;
import org.align4j.data.batch.Collator;
import org.align4j.data.batch.Example;
import org.align4j.data.batch.ExampleEncoder;
import org.align4j.data.batch.Truncation;
import org.align4j.data.format.DataRecord;
import org.align4j.data.format.RecordKind;
import org.align4j.train.LossEvaluation;

/**
 * Evaluates a model on SFT-format data: loss, perplexity and token accuracy on the trained
 * tokens, and with generation, greedy answers to each prompt (a completion record's prompt, a
 * chat's messages before its last assistant reply) scored against the reference.
 */
public final class Evaluator {

    /** The record kinds a language model is evaluated (and fine-tuned) on. */
    public static final java.util.Set<RecordKind> KINDS = java.util.Set.of(RecordKind.TEXT, RecordKind.COMPLETION,
            RecordKind.CHAT);


    private final DecoderModel model;
    private final ExampleEncoder encoder;

    public Evaluator(DecoderModel model, ExampleEncoder encoder) {
        this.model = model;
        this.encoder = encoder;
    }

    /** Prompt tokens and reference text of a record, for generation. */
    record Task(String promptText, int[] promptIds, String reference) {
    }

    Task task(DataRecord r) {
        if (r instanceof DataRecord.Completion c) {
            return new Task(c.prompt(), encoder.tokenizer().encode(c.prompt()), c.completion());
        }
        if (r instanceof DataRecord.Chat c) {
            int last = -1;
            for (int i = 0; i < c.messages().size(); i++) {
                if (c.messages().get(i).role().equals("assistant")) {
                    last = i;
                }
            }
            // a chat may open with the assistant's reply: its prompt is then only the generation prompt
            List<ChatMessage> prompt = c.messages().subList(0, Math.max(0, last));
            return new Task(prompt.isEmpty() ? "" : prompt.get(prompt.size() - 1).content(),
                    encoder.template().render(prompt, encoder.tokenizer(), true).ids(),
                    c.messages().get(last).content());
        }
        throw new UserInputException("generation needs completion or chat records, not " + r.kind().id());
    }

    public EvalReport evaluate(List<DataRecord> records, int batchSize, boolean generate, int maxNewTokens,
                               Pattern answerPattern) {
        int maxLength = model.config().contextLength();
        List<Example> examples = new ArrayList<>();
        for (DataRecord r : records) {
            examples.add(encoder.encode(r));
        }
        LossEvaluation.Result loss = LossEvaluation.evaluate(model, examples,
                new Collator(maxLength, Truncation.LEFT, encoder.eosTokenId()), batchSize);
        if (!generate) {
            return new EvalReport(records.size(), loss.loss(), loss.perplexity(), loss.meanTokenAccuracy(), null, null,
                    null, null, null, null, List.of(), 0);
        }
        if (maxNewTokens >= maxLength) {
            throw new UserInputException("--max-new-tokens " + maxNewTokens + " leaves no room for a prompt in the"
                    + " model's context of " + maxLength + " tokens; use at most " + (maxLength - 1));
        }
        int truncatedPrompts = 0;
        Set<Integer> stops = SpecialTokens.stops(encoder.tokenizer(), encoder.eosTokenId());
        SamplingConfig greedy = new SamplingConfig(maxNewTokens, 0, 0, 1, 0, 0, stops, List.of());
        Generator gen = new Generator(model);
        List<String> predictions = new ArrayList<>();
        List<String> references = new ArrayList<>();
        List<EvalReport.Sample> samples = new ArrayList<>();
        for (int start = 0; start < records.size(); start += batchSize) {
            List<Task> tasks = new ArrayList<>();
            List<int[]> prompts = new ArrayList<>();
            for (DataRecord r : records.subList(start, Math.min(records.size(), start + batchSize))) {
                Task t = task(r);
                tasks.add(t);
                int keep = maxLength - maxNewTokens;
                int[] p = t.promptIds();
                truncatedPrompts += p.length > keep ? 1 : 0;
                prompts.add(p.length > keep ? java.util.Arrays.copyOfRange(p, p.length - keep, p.length) : p);
            }
            List<Generation> out = gen.generate(prompts, greedy, encoder.tokenizer()::decode);
            for (int i = 0; i < tasks.size(); i++) {
                String prediction = Generator.completionText(out.get(i), greedy, encoder.tokenizer()::decode);
                predictions.add(prediction);
                references.add(tasks.get(i).reference());
                samples.add(new EvalReport.Sample(tasks.get(i).promptText(), tasks.get(i).reference(), prediction));
            }
        }
        int n = predictions.size();
        double em = 0;
        double rouge = 0;
        double f1 = 0;
        long matching = 0;
        for (int i = 0; i < n; i++) {
            em += TextMetrics.exactMatch(predictions.get(i), references.get(i)) ? 1 : 0;
            rouge += TextMetrics.rougeL(predictions.get(i), references.get(i));
            f1 += TextMetrics.tokenF1(predictions.get(i), references.get(i));
            if (answerPattern != null && answerPattern.matcher(predictions.get(i).trim()).matches()) {
                matching++;
            }
        }
        ClassificationMetrics cls = ClassificationMetrics.looksLikeLabels(references)
                ? ClassificationMetrics.of(predictions, references) : null;
        return new EvalReport(n, loss.loss(), loss.perplexity(), loss.meanTokenAccuracy(), em / n,
                TextMetrics.corpusBleu(predictions, references), rouge / n, f1 / n,
                answerPattern == null ? null : (double) matching / n, cls, samples, truncatedPrompts);
    }
}
