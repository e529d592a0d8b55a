package org.align4j.cli;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.align4j.core.output.OutputCheck;
import org.align4j.core.output.PathKind;
import org.align4j.core.util.AtomicFiles;
import org.align4j.data.jsonl.JsonlWriter;
import org.align4j.examples.ArithmeticProblems;
import org.align4j.examples.EmojiBotData;
import org.align4j.examples.ReviewData;
import org.align4j.examples.StoryCorpus;
import org.align4j.pipeline.PositiveStories;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "examples", mixinStandardHelpOptions = true,
        description = "Regenerate the example corpora and datasets under examples/ (see examples/README.md).",
        subcommands = {ExamplesCommand.Stories.class, ExamplesCommand.EmojiBot.class, ExamplesCommand.Reviews.class,
                ExamplesCommand.PositiveStoriesTask.class, ExamplesCommand.Arithmetic.class})
final class ExamplesCommand implements Runnable {

    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    @Command(name = "stories", mixinStandardHelpOptions = true,
            description = "Generated children's stories: FILE.txt (one per line, for the tokenizer) and FILE.jsonl.")
    static final class Stories implements Callable<Integer> {
        @Range(min = 1, max = 100000000)
        @Option(names = "--count", defaultValue = "12000", description = "stories to generate (default: ${DEFAULT-VALUE})")
        int count;
        @Range()
        @Option(names = "--seed", defaultValue = "0", description = "generator seed (default: ${DEFAULT-VALUE})")
        long seed;
        @Option(names = "--out", required = true, description = "path without extension")
        String out;
        @Mixin
        ForceOption force;

        @Override
        public Integer call() throws Exception {
            OutputCheck.of("--out", Path.of(out + ".txt")).check(force.force);
            OutputCheck.of("--out", Path.of(out + ".jsonl")).replaces(PathKind.DATA).check(force.force);
            List<String> stories = StoryCorpus.stories(count, seed);
            AtomicFiles.writeString(Path.of(out + ".txt"), String.join("\n", stories) + "\n");
            ObjectMapper om = new ObjectMapper();
            List<JsonNode> rows = stories.stream().map(s -> (JsonNode) om.createObjectNode().put("text", s)).toList();
            JsonlWriter.write(Path.of(out + ".jsonl"), rows);
            long bytes = String.join("\n", stories).getBytes(StandardCharsets.UTF_8).length;
            System.err.printf("%d stories (%.1f MB) in %s.txt and %s.jsonl%n", count, bytes / 1e6, out, out);
            return 0;
        }
    }

    @Command(name = "emojibot", mixinStandardHelpOptions = true, description = "EmojiBot's chat conversations (JSONL).")
    static final class EmojiBot implements Callable<Integer> {
        @Range(min = 1, max = 100000000)
        @Option(names = "--count", defaultValue = "300", description = "conversations to generate (default: ${DEFAULT-VALUE})")
        int count;
        @Range()
        @Option(names = "--seed", defaultValue = "0", description = "generator seed (default: ${DEFAULT-VALUE})")
        long seed;
        @Option(names = "--held-out", description = "use only the phrasings kept out of training (for validation)")
        boolean heldOut;
        @Option(names = "--out", required = true, description = "JSONL file to write")
        Path out;
        @Mixin
        ForceOption force;

        @Override
        public Integer call() throws Exception {
            OutputCheck.of("--out", out).replaces(PathKind.DATA).check(force.force);
            JsonlWriter.write(out, EmojiBotData.conversations(count, seed, heldOut));
            System.err.printf("%d conversations in %s%n", count, out);
            return 0;
        }
    }

    @Command(name = "reviews", mixinStandardHelpOptions = true, description = "Product reviews with 1-5 stars (JSONL).")
    static final class Reviews implements Callable<Integer> {
        @Range(min = 1, max = 100000000)
        @Option(names = "--count", defaultValue = "1500", description = "reviews to generate (default: ${DEFAULT-VALUE})")
        int count;
        @Range()
        @Option(names = "--seed", defaultValue = "0", description = "generator seed (default: ${DEFAULT-VALUE})")
        long seed;
        @Option(names = "--out", required = true, description = "JSONL file to write")
        Path out;
        @Mixin
        ForceOption force;

        @Override
        public Integer call() throws Exception {
            OutputCheck.of("--out", out).replaces(PathKind.DATA).check(force.force);
            JsonlWriter.write(out, ReviewData.reviews(count, seed));
            System.err.printf("%d reviews in %s%n", count, out);
            return 0;
        }
    }

    @Command(name = "positive-stories", mixinStandardHelpOptions = true,
            description = "The controlled task: story openings as prompts (training and held-out, the held-out ones"
                    + " unseen by the base model) and SFT pairs (opening -> rest of the story), from the story"
                    + " generator under a seed other than the base model's corpus.")
    static final class PositiveStoriesTask implements Callable<Integer> {
        @Option(names = "--out", required = true, description = "directory to write")
        Path out;
        @Mixin
        ForceOption force;
        @Range(min = 1, max = 1000000)
        @Option(names = "--train-prompts", defaultValue = "1000", description = "training prompts (default: ${DEFAULT-VALUE})")
        int trainPrompts;
        @Range(min = 1, max = 1000000)
        @Option(names = "--heldout-prompts", defaultValue = "200", description = "held-out prompts (default: ${DEFAULT-VALUE})")
        int heldOut;
        @Range(min = 1, max = 1000000)
        @Option(names = "--sft-train", defaultValue = "2000", description = "SFT training pairs (default: ${DEFAULT-VALUE})")
        int sftTrain;
        @Range(min = 1, max = 1000000)
        @Option(names = "--sft-val", defaultValue = "200", description = "SFT validation pairs (default: ${DEFAULT-VALUE})")
        int sftVal;
        @Range()
        @Option(names = "--seed", defaultValue = "20261122", description = "generator seed, not the base corpus's 0 (default: ${DEFAULT-VALUE})")
        long seed;

        @Override
        public Integer call() throws Exception {
            if (seed == PositiveStories.BASE_SEED) {
                throw new UserError("--seed 0 is the base model's own corpus; choose another");
            }
            OutputCheck.of("--out", out).check(force.force);
            PositiveStories.TaskFiles f = PositiveStories.write(out, trainPrompts, heldOut, sftTrain, sftVal, seed);
            System.err.printf("%s: %s, %s, %s, %s%n", out, f.trainPrompts().getFileName(),
                    f.heldOutPrompts().getFileName(), f.sftTrain().getFileName(), f.sftVal().getFileName());
            return 0;
        }
    }

    @Command(name = "arithmetic", mixinStandardHelpOptions = true, sortOptions = false,
            description = "The RLVR task: arithmetic word problems with worked answers. Writes DIR/sft.train.jsonl and"
                    + " sft.val.jsonl (prompt-completion), prompts.train.jsonl and heldout.jsonl ({\"prompt\","
                    + " \"answer\", \"equation\"}) and grader.json (math_answer: the response's last number against"
                    + " {{item.answer}}). Held-out problems share no equation with any other file.",
            footer = {"", "Example:", "  align4j examples arithmetic --out examples/arithmetic --seed 22",
                    "  align4j sft --config examples/arithmetic/sft.json"})
    static final class Arithmetic implements Callable<Integer> {
        @Option(names = "--out", required = true, description = "directory to write")
        Path out;
        @Mixin
        ForceOption force;
        @Range(min = 1, max = 1000000)
        @Option(names = "--sft-train", defaultValue = "4000", description = "SFT training problems (default: ${DEFAULT-VALUE})")
        int sftTrain;
        @Range(min = 1, max = 1000000)
        @Option(names = "--sft-val", defaultValue = "200", description = "SFT validation problems (default: ${DEFAULT-VALUE})")
        int sftVal;
        @Range(min = 1, max = 1000000)
        @Option(names = "--rl-prompts", defaultValue = "1000", description = "RL training prompts (default: ${DEFAULT-VALUE})")
        int rlPrompts;
        @Range(min = 1, max = 1000000)
        @Option(names = "--heldout", defaultValue = "200", description = "held-out problems (default: ${DEFAULT-VALUE})")
        int heldOut;
        @Range(min = 2, max = 1000000)
        @Option(names = "--max-operand", defaultValue = "20", description = "largest operand of a sum or difference (default: ${DEFAULT-VALUE})")
        int maxOperand;
        @Range(min = 0, max = 1)
        @Option(names = "--two-step-share", defaultValue = "0.5", description = "share of two-step problems (default: ${DEFAULT-VALUE})")
        double twoStepShare;
        @Option(names = "--multiply", negatable = true, defaultValue = "false", description = "also products of two factors 2-9 (default: ${DEFAULT-VALUE})")
        boolean multiply;
        @Option(names = "--disjoint", defaultValue = "equation", description = "what no held-out problem shares with training: ${COMPLETION-CANDIDATES}; equation: its arithmetic (7+5-3), question: its wording only (default: ${DEFAULT-VALUE})")
        ArithmeticProblems.Disjoint disjoint;
        @Range()
        @Option(names = "--seed", defaultValue = "22", description = "generator seed (default: ${DEFAULT-VALUE})")
        long seed;

        @Override
        public Integer call() throws Exception {
            OutputCheck.of("--out", out).check(force.force);
            ArithmeticProblems.TaskFiles f;
            try {
                f = ArithmeticProblems.write(out, new ArithmeticProblems.Sizes(sftTrain, sftVal, rlPrompts, heldOut),
                        new ArithmeticProblems.Settings(maxOperand, twoStepShare, multiply), seed, disjoint);
            } catch (IllegalStateException e) {
                throw new UserError(e.getMessage());
            }
            System.err.printf("%s: %s, %s, %s, %s, %s%n", out, f.sftTrain().getFileName(), f.sftVal().getFileName(),
                    f.rlPrompts().getFileName(), f.heldOut().getFileName(), f.grader().getFileName());
            return 0;
        }
    }
}
