package org.align4j.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

import org.align4j.core.output.OutputCheck;
import org.align4j.core.output.PathKind;
import org.align4j.core.tokenizer.BpeTokenizer;
import org.align4j.core.tokenizer.BpeTrainer;
import org.align4j.core.tokenizer.TokenizerFiles;
import org.align4j.core.util.InputFiles;
import org.align4j.core.util.Utf8;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "tokenizer", mixinStandardHelpOptions = true,
        description = "Train, apply and inspect byte-level BPE tokenizers (GPT-2 compatible).",
        subcommands = {TokenizerCommand.Train.class, TokenizerCommand.Encode.class, TokenizerCommand.Decode.class})
final class TokenizerCommand implements Runnable {

    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    static BpeTokenizer load(Path path) throws IOException {
        return TokenizerFiles.load(path);
    }

    @Command(name = "train", mixinStandardHelpOptions = true,
            description = "Train a BPE vocabulary on text files; writes tokenizer.json, vocab.json and merges.txt.",
            footer = {"", "Example:",
                    "  align4j tokenizer train --input corpus.txt --vocab-size 4096 --special '<|endoftext|>' --out tok/"})
    static final class Train implements Callable<Integer> {
        @Option(names = "--input", required = true, arity = "1..*",
                description = "UTF-8 text files, or .jsonl files whose string values are used")
        List<Path> inputs;
        @Range(min = 1, max = 10000000)
        @Option(names = "--vocab-size", required = true, description = "target size, special tokens included")
        int vocabSize;
        @Option(names = "--special", description = "special tokens (repeatable); default <|endoftext|>")
        List<String> specials;
        @Range(min = 1)
        @Option(names = "--min-frequency", defaultValue = "2", description = "least count for a merge (default ${DEFAULT-VALUE})")
        int minFrequency;
        @Option(names = "--out", required = true, description = "output directory")
        Path out;
        @Mixin
        ForceOption force;

        @Override
        public Integer call() throws Exception {
            OutputCheck.of("--out", out).replaces(PathKind.TOKENIZER).inputs("FILE", inputs).check(force.force);
            List<String> sp = specials == null ? List.of("<|endoftext|>") : specials;
            BpeTrainer trainer = new BpeTrainer(vocabSize, sp, minFrequency, 4_000_000);
            long start = System.nanoTime();
            for (Path p : inputs) {
                InputFiles.requireReadableFile(p);
                System.err.println("reading " + p + " (" + Files.size(p) + " bytes)");
                if (p.getFileName().toString().endsWith(".jsonl")) {
                    addJsonlStrings(trainer, p);
                } else {
                    trainer.addFile(p);
                }
            }
            BpeTokenizer tok = trainer.train(System.err::println);
            TokenizerFiles.save(tok, out);
            System.err.printf("vocabulary of %d tokens (%d merges, %d special) written to %s in %.1f s%n",
                    tok.vocabSize(), tok.merges().size(), tok.specialTokens().size(), out,
                    (System.nanoTime() - start) / 1e9);
            return 0;
        }
    }

    /** The string values of JSONL records (text, prompts, completions, message contents), line by line. */
    static void addJsonlStrings(BpeTrainer trainer, Path file) throws IOException {
        try (org.align4j.data.jsonl.JsonlReader in = new org.align4j.data.jsonl.JsonlReader(file)) {
            org.align4j.data.jsonl.JsonlReader.Line line;
            while ((line = in.next()) != null) {
                if (!line.ok()) {
                    throw new UserError(file + ":" + line.number() + ": not JSON: " + line.error());
                }
                addStrings(trainer, line.json());
            }
        }
    }

    private static void addStrings(BpeTrainer trainer, com.fasterxml.jackson.databind.JsonNode n) {
        if (n.isTextual()) {
            trainer.addText(n.asText());
        } else if (n.isContainerNode()) {
            n.forEach(child -> addStrings(trainer, child));
        }
    }

    @Command(name = "encode", mixinStandardHelpOptions = true,
            description = "Read all of standard input as one UTF-8 text; print its token ids on one line, space-separated."
                    + " Input that is not valid UTF-8 is refused with the offset of its first bad byte (nothing is"
                    + " replaced, so encode and decode round-trip exactly).",
            footer = {"", "Example:", "  echo -n 'Hello world' | align4j tokenizer encode --tokenizer examples/base-model"})
    static final class Encode implements Callable<Integer> {
        @Option(names = "--tokenizer", required = true, description = "a directory or a tokenizer.json")
        Path path;
        @Option(names = "--allow-special", description = "encode special-token strings as their ids")
        boolean allowSpecial;

        @Override
        public Integer call() throws Exception {
            BpeTokenizer tok = load(path);
            byte[] bytes = System.in.readAllBytes();
            int bad = Utf8.firstInvalid(bytes, bytes.length);
            if (bad >= 0) {
                throw new UserError("standard input: not valid UTF-8 at byte offset " + bad
                        + String.format(" (0x%02x); encode takes UTF-8 text", bytes[bad] & 0xff));
            }
            String text = new String(bytes, StandardCharsets.UTF_8);
            int[] ids = tok.encode(text, allowSpecial);
            StringBuilder sb = new StringBuilder(ids.length * 6);
            for (int i = 0; i < ids.length; i++) {
                sb.append(i == 0 ? "" : " ").append(ids[i]);
            }
            System.out.println(sb);
            return 0;
        }
    }

    @Command(name = "decode", mixinStandardHelpOptions = true,
            description = "Read token ids (whitespace-separated) from standard input; print their text exactly.",
            footer = {"", "Example:", "  echo 15496 995 | align4j tokenizer decode --tokenizer gpt2/"})
    static final class Decode implements Callable<Integer> {
        @Option(names = "--tokenizer", required = true, description = "a directory or a tokenizer.json")
        Path path;

        @Override
        public Integer call() throws Exception {
            BpeTokenizer tok = load(path);
            int[] ids = parseIds(System.in, "standard input");
            PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
            out.write(tok.decodeBytes(ids));
            out.flush();
            return 0;
        }
    }

    static int[] parseIds(InputStream in, String where) throws IOException {
        String s = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
        if (s.isEmpty()) {
            return new int[0];
        }
        String[] parts = s.split("[\\s,]+");
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                ids[i] = Integer.parseInt(parts[i]);
            } catch (NumberFormatException e) {
                throw new UserError(where + ": token " + (i + 1) + " ('" + parts[i] + "') is not an integer id");
            }
        }
        return ids;
    }
}
