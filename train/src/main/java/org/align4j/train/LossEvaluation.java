package org.align4j.train;

import java.util.List;

import org.align4j.core.loss.LanguageModelLoss;
import org.align4j.core.model.DecoderModel;
import org.align4j.data.batch.Collator;
import org.align4j.data.batch.Example;
import org.align4j.data.batch.TrainingBatch;

/** Token-weighted loss, perplexity and next-token accuracy of a model over trained tokens of examples. */
public final class LossEvaluation {

    /** Mean loss per trained token, its exponential, the fraction of trained tokens predicted exactly. */
    public record Result(double loss, double perplexity, double meanTokenAccuracy, long tokens) {
    }

    private LossEvaluation() {
    }

    public static Result evaluate(DecoderModel model, List<Example> examples, Collator collator, int batchSize) {
        double lossSum = 0;
        long tokens = 0;
        long correct = 0;
        for (int start = 0; start < examples.size(); start += batchSize) {
            TrainingBatch b = collator.collate(examples.subList(start, Math.min(examples.size(), start + batchSize)));
            if (b.trainedTokens() == 0) {
                continue;
            }
            int[] predictions = new int[b.targets().length];
            lossSum += LanguageModelLoss.evaluate(model, b.inputs(), b.targets(), b.lossMask(), predictions);
            tokens += b.trainedTokens();
            correct += correctCount(predictions, b);
        }
        double loss = tokens == 0 ? Double.NaN : lossSum / tokens;
        return new Result(loss, Math.exp(loss), tokens == 0 ? Double.NaN : (double) correct / tokens, tokens);
    }

    public static long correctCount(int[] predictions, TrainingBatch b) {
        long c = 0;
        for (int i = 0; i < predictions.length; i++) {
            if (b.lossMask()[i] != 0f && predictions[i] == b.targets()[i]) {
                c++;
            }
        }
        return c;
    }
}
