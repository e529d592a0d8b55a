package org.align4j.reward;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

import org.align4j.core.checkpoint.ModelSource;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.model.ScoreHead;
import org.align4j.core.model.TokenBatch;
import org.align4j.data.batch.ExampleEncoder;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Scores token sequences with a reward model, in batches of similar length (sorted, so little
 * padding is computed), returning the scores in the input order. Sequences longer than the
 * model's context keep their last tokens, where the score is read. The same code scores during
 * training's evaluation, for {@code align4j score}, for PPO and for active selection, so one
 * text gets one reward everywhere.
 */
public final class RewardScorer {

    private final ScoreHead head;
    private final ExampleEncoder encoder;
    private final int maxLength;

    public RewardScorer(DecoderModel model, ExampleEncoder encoder, int maxLength) {
        this.head = new ScoreHead(model);
        this.encoder = encoder;
        this.maxLength = maxLength > 0 ? Math.min(maxLength, model.config().contextLength()) : model.config().contextLength();
    }

    /** A reward model directory (it must hold {@code score.weight}) and its tokenizer. */
    public static RewardScorer load(Path dir, Kernels kernels) throws IOException {
        return load(ModelSource.of(dir), kernels);
    }

    /** Refuses a directory without a scalar head (a causal LM would score every text 0). */
    public static void requireRewardModel(Path dir) throws IOException {
        requireRewardModel(ModelSource.of(dir));
    }

    private static void requireRewardModel(ModelSource source) throws IOException {
        if (!source.hasScoreHead()) {
            throw new IOException(source + ": not a reward model (its weights hold no score.weight); train one with"
                    + " align4j reward");
        }
    }

    /** A reward model (an adapter's head, with one) and its tokenizer; an adapter on the base it was trained on. */
    public static RewardScorer load(ModelSource source, Kernels kernels) throws IOException {
        requireRewardModel(source);
        DecoderModel model = source.load(kernels, DataType.FLOAT, true);
        return new RewardScorer(model, ExampleEncoder.forModel(source.tokenizerDir(), model.config().eosTokenId()), 0);
    }

    public ExampleEncoder encoder() {
        return encoder;
    }

    public DecoderModel model() {
        return head.model();
    }

    public int maxLength() {
        return maxLength;
    }

    /** The last {@code maxLength} tokens (the score is read at the end); at least one token. */
    public static int[] fit(int[] ids, int maxLength, int pad) {
        if (ids.length == 0) {
            return new int[] {pad};
        }
        return ids.length <= maxLength ? ids : Arrays.copyOfRange(ids, ids.length - maxLength, ids.length);
    }

    /**
     * The order {@link #score} runs sequences in: by length, shortest first, ties in input order; its
     * runs of {@code batchSize} are the batches (so scoring each run alone gives the same numbers).
     */
    public static int[] lengthOrder(List<int[]> sequences) {
        return IntStream.range(0, sequences.size()).boxed()
                .sorted(Comparator.comparingInt(i -> sequences.get(i).length)).mapToInt(Integer::intValue).toArray();
    }

    /** One score per sequence, in the order given. */
    public double[] score(List<int[]> sequences, int batchSize) {
        int[] order = lengthOrder(sequences);
        double[] out = new double[sequences.size()];
        for (int start = 0; start < order.length; start += batchSize) {
            int n = Math.min(batchSize, order.length - start);
            int[][] batch = new int[n][];
            for (int i = 0; i < n; i++) {
                batch[i] = fit(sequences.get(order[start + i]), maxLength, encoder.eosTokenId());
            }
            double[] s = head.forward(TokenBatch.rightPadded(batch, encoder.eosTokenId()));
            for (int i = 0; i < n; i++) {
                out[order[start + i]] = s[i];
            }
        }
        return out;
    }
}
