package org.align4j.serve.infer;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

import org.align4j.core.generate.SamplingConfig;
import org.align4j.core.util.UserInputException;
import org.align4j.data.format.Content;
import org.align4j.reward.RewardScorer;
import org.align4j.serve.ApiError;

/**
 * What the inference routes ask for: a checked request turned into sequences on its model's
 * decoding batch (a {@link Run}), or into rewards. Prompts are rendered exactly as {@code align4j
 * generate} renders them (the model's chat template; text with special tokens allowed).
 */
final class InferenceService {

    private final LoadedModels models;

    InferenceService(LoadedModels models) {
        this.models = models;
    }

    Run chat(ChatRequest r) {
        LanguageModel m = models.languageModel(r.model(), "model");
        int[] prompt;
        try {
            prompt = m.template().render(r.messages(), m.tokenizer(), true).ids();
        } catch (UserInputException e) {
            throw ApiError.invalid("messages", e.getMessage());
        }
        return new Run(m, List.of(prompt), r.decoding(), sampling(m, r.decoding(), m.contextLength()), "messages");
    }

    Run complete(CompletionRequest r) {
        LanguageModel m = models.languageModel(r.model(), "model");
        List<int[]> prompts = new ArrayList<>();
        for (CompletionRequest.Prompt p : r.prompts()) {
            prompts.add(p.text() != null ? m.tokenizer().encode(p.text(), true) : p.ids());
        }
        return new Run(m, prompts, r.decoding(), sampling(m, r.decoding(), CompletionRequest.DEFAULT_MAX_TOKENS),
                "prompt");
    }

    private static SamplingConfig sampling(LanguageModel m, Decoding d, int defaultMax) {
        long seed = d.seed() != null ? d.seed() : ThreadLocalRandom.current().nextLong();
        return d.sampling(defaultMax, m.stops(), seed);
    }

    /** Rewards of the pairs, in order, and the tokens read. */
    record Scores(double[] scores, int tokens) {
    }

    Scores score(ScoreRequest r) {
        RewardScorer scorer = models.rewardModel(r.model(), "model");
        List<int[]> seqs = new ArrayList<>();
        int tokens = 0;
        for (int i = 0; i < r.input().size(); i++) {
            ScoreRequest.Pair p = r.input().get(i);
            try {
                int[] s = scorer.encoder().scoredSequence(p.prompt(), new Content.Text(
                        p.response()));
                seqs.add(s);
                tokens += Math.min(s.length, scorer.maxLength());
            } catch (UserInputException e) {
                throw ApiError.invalid("input[" + i + "]", e.getMessage());
            }
        }
        synchronized (scorer) { // one forward at a time on the model's buffers
            return new Scores(scorer.score(seqs, 16), tokens);
        }
    }
}
