package org.align4j.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import picocli.CommandLine.Mixin;
import org.align4j.core.backend.Backend;
import org.align4j.core.model.DecoderModel;
import org.align4j.data.batch.ExampleEncoder;
import org.align4j.data.format.Dataset;
import org.align4j.data.format.RecordKind;
import org.align4j.train.eval.ClassificationMetrics;
import org.align4j.train.eval.EvalReport;
import org.align4j.train.eval.Evaluator;
import org.nd4j.linalg.api.buffer.DataType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Evaluate a model on SFT-format data: loss, perplexity, mean token accuracy; with --generate also",
                "exact match, BLEU, ROUGE-L, token F1 of greedy answers, classification metrics when the references",
                "are labels (accuracy, macro-F1, confusion matrix; off-by-one and binary accuracy for ordinal labels)."},
        footer = {"", "Examples:",
                "  align4j eval --model runs/emojibot/final --data examples/emojibot/val.jsonl --generate \\",
                "      --answer-pattern '(\\([a-z0-9]+\\)\\s*)+'",
                "  align4j eval --model runs/stars/final --data examples/review-stars/test.jsonl --generate --json"})
final class EvalCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, description = "model directory to evaluate")
    Path model;
    @Mixin
    AdapterOption adapter;
    @Option(names = "--data", required = true, description = "JSONL: text, completion or chat records")
    Path data;
    @Option(names = "--generate", description = "also generate answers and score them")
    boolean generate;
    @Range(min = 1)
    @Option(names = "--max-new-tokens", defaultValue = "32", description = "tokens generated per answer with --generate (default: ${DEFAULT-VALUE})")
    int maxNewTokens;
    @Range(min = 1, max = 65536)
    @Option(names = "--batch-size", defaultValue = "8", description = "records evaluated together (default: ${DEFAULT-VALUE})")
    int batchSize;
    @Option(names = "--answer-pattern", description = "regex an answer must match in full (reports the match rate)")
    String answerPattern;
    @Range(min = 0)
    @Option(names = "--samples", defaultValue = "5", description = "answers to show (text output)")
    int samples;
    @Option(names = "--json", description = "print the report as JSON")
    boolean json;

    @Override
    public Integer call() throws Exception {
        DecoderModel m = adapter.source(model).load(Backend.get().kernels(), DataType.FLOAT, false);
        ExampleEncoder enc = ExampleEncoder.forModel(model, m.config().eosTokenId());
        m.limitVocabulary(enc.tokenizer());
        Dataset d = Dataset.read(data, null, false, Evaluator.KINDS);
        if (generate && d.kind() == RecordKind.TEXT) {
            throw new UserError(data + ": --generate needs completion or chat records");
        }
        EvalReport r = new Evaluator(m, enc).evaluate(d.records(), batchSize, generate, maxNewTokens,
                answerPattern == null ? null : Pattern.compile(answerPattern));
        PrintStream out = Console.stdout();
        if (r.promptsTruncated() > 0) {
            System.err.printf("align4j: %d of %d prompt(s) were longer than the %d tokens the context leaves beside"
                    + " --max-new-tokens %d; their first tokens were cut%n", r.promptsTruncated(), r.examples(),
                    m.config().contextLength() - maxNewTokens, maxNewTokens);
        }
        if (json) {
            out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(toJson(r)));
            return 0;
        }
        out.printf("examples %d: loss %.4f, perplexity %.3f, mean token accuracy %.4f%n", r.examples(), r.loss(),
                r.perplexity(), r.meanTokenAccuracy());
        if (generate) {
            out.printf("exact match %.4f, BLEU %.4f, ROUGE-L %.4f, token F1 %.4f%n", r.exactMatch(), r.bleu(),
                    r.rougeL(), r.tokenF1());
            if (r.patternMatchRate() != null) {
                out.printf("answers matching --answer-pattern: %.1f%%%n", 100 * r.patternMatchRate());
            }
            ClassificationMetrics c = r.classification();
            if (c != null) {
                out.printf("labels %s: accuracy %.4f, macro-F1 %.4f%n", c.labels(), c.accuracy(), c.macroF1());
                if (c.offByOneAccuracy() != null) {
                    out.printf("ordinal: off-by-one accuracy %.4f, binary accuracy (<=3 vs >3) %.4f%n",
                            c.offByOneAccuracy(), c.binaryAccuracy());
                }
                out.println("confusion (rows: reference, columns: prediction, last column: other):");
                for (int i = 0; i < c.labels().size(); i++) {
                    out.printf("  %-6s %s%n", c.labels().get(i), Arrays.toString(c.confusion()[i]));
                }
            }
            for (EvalReport.Sample s : r.samples().subList(0, Math.min(samples, r.samples().size()))) {
                out.printf("> %s%n  reference:  %s%n  prediction: %s%n", s.prompt().replace("\n", " | "),
                        s.reference(), s.prediction());
            }
        }
        return 0;
    }

    static ObjectNode toJson(EvalReport r) {
        ObjectMapper om = new ObjectMapper();
        ObjectNode o = om.createObjectNode();
        o.put("examples", r.examples());
        o.put("prompts_truncated", r.promptsTruncated());
        o.put("loss", r.loss());
        o.put("perplexity", r.perplexity());
        o.put("mean_token_accuracy", r.meanTokenAccuracy());
        if (r.exactMatch() != null) {
            o.put("exact_match", r.exactMatch());
            o.put("bleu", r.bleu());
            o.put("rouge_l", r.rougeL());
            o.put("token_f1", r.tokenF1());
        }
        if (r.patternMatchRate() != null) {
            o.put("answer_pattern_match_rate", r.patternMatchRate());
        }
        ClassificationMetrics c = r.classification();
        if (c != null) {
            ObjectNode cn = o.putObject("classification");
            ArrayNode labels = cn.putArray("labels");
            c.labels().forEach(labels::add);
            cn.put("accuracy", c.accuracy());
            cn.put("macro_f1", c.macroF1());
            if (c.offByOneAccuracy() != null) {
                cn.put("off_by_one_accuracy", c.offByOneAccuracy());
                cn.put("binary_accuracy", c.binaryAccuracy());
            }
            ArrayNode cm = cn.putArray("confusion_matrix");
            for (long[] row : c.confusion()) {
                ArrayNode a = cm.addArray();
                for (long v : row) {
                    a.add(v);
                }
            }
        }
        ArrayNode samples = o.putArray("samples");
        for (EvalReport.Sample s : r.samples()) {
            samples.addObject().put("prompt", s.prompt()).put("reference", s.reference())
                    .put("prediction", s.prediction());
        }
        return o;
    }
}
