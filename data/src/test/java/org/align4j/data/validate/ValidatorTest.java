package org.align4j.data.validate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.align4j.data.format.Problem;
import org.align4j.data.format.ProblemKind;
import org.align4j.data.format.RecordKind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every problem kind with its exact line, as the user sees them. */
class ValidatorTest {

    @TempDir
    Path tmp;

    private record Run(ValidationReport report, List<Problem> printed) {
    }

    private Run validate(String name, String content, RecordKind forced) throws Exception {
        Path f = tmp.resolve(name);
        Files.writeString(f, content);
        List<Problem> printed = new ArrayList<>();
        ValidationReport r = new Validator(null, 0, forced, printed::add).validate(List.of(f));
        return new Run(r, printed);
    }

    /** Asserts exactly one problem of that kind, at that line. */
    private static void has(Run run, ProblemKind kind, long line) {
        List<Problem> matching = run.printed().stream().filter(p -> p.kind() == kind).toList();
        assertEquals(1, matching.size(), kind + " in " + run.printed());
        assertEquals(line, matching.get(0).line(), kind + " at " + matching.get(0));
    }

    @Test
    void chatProblemsOfOpenAisChecker() throws Exception {
        String good = "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"(wave)\"}]}";
        String content = String.join("\n",
                good,                                                                                  // 1
                "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}",                           // 2 broken JSON
                good,                                                                                  // 3
                "[1, 2]",                                                                              // 4 not an object
                "{\"msgs\": []}",                                                                      // 5 no messages list (+unrecognized key)
                "{\"messages\": [{\"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"x\"}]}", // 6 missing role
                "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\", \"mood\": 1}, {\"role\": \"assistant\", \"content\": \"x\"}]}", // 7
                "{\"messages\": [{\"role\": \"robot\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"x\"}]}", // 8
                "{\"messages\": [{\"role\": \"user\", \"content\": \"\"}, {\"role\": \"assistant\", \"content\": \"x\"}]}", // 9
                "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}",                         // 10 no assistant
                "",                                                                                    // 11 blank: skipped
                good) + "\n";                                                                          // 12
        Run run = validate("chat.jsonl", content, null);
        has(run, ProblemKind.NOT_JSON, 2);
        has(run, ProblemKind.NOT_AN_OBJECT, 4);
        has(run, ProblemKind.MISSING_MESSAGES_LIST, 5);
        has(run, ProblemKind.MESSAGE_MISSING_KEY, 6);
        has(run, ProblemKind.MESSAGE_UNRECOGNIZED_KEY, 7);
        has(run, ProblemKind.UNRECOGNIZED_ROLE, 8);
        has(run, ProblemKind.MISSING_CONTENT, 9);
        has(run, ProblemKind.EXAMPLE_MISSING_ASSISTANT_MESSAGE, 10);
        has(run, ProblemKind.UNRECOGNIZED_KEY, 5);
        assertEquals(11, run.report().records());
        assertEquals(3, run.report().validRecords());
        assertEquals(8, run.report().invalidRecords());
        assertEquals(2, run.report().duplicates(), "lines 3 and 12 repeat line 1");
        assertFalse(run.report().ok());
        assertTrue(run.printed().get(0).toString().startsWith(tmp.resolve("chat.jsonl") + ":2: not_json: "));
        assertTrue(run.printed().stream().anyMatch(p -> p.message().contains("messages[0].role 'robot'")));
    }

    @Test
    void completionPreferenceAndRankingProblems() throws Exception {
        Run c = validate("c.jsonl", "{\"prompt\": \"a\", \"completion\": \" b\"}\n{\"prompt\": \"a\", \"completion\": \"\"}\n"
                + "{\"prompt\": 1, \"completion\": \"x\"}\n{\"completion\": \"x\"}\n", null);
        has(c, ProblemKind.EMPTY_COMPLETION, 2);
        has(c, ProblemKind.WRONG_TYPE, 3);
        has(c, ProblemKind.MISSING_FIELD, 4);

        Run p = validate("p.jsonl", "{\"prompt\": \"q\", \"chosen\": \"a\", \"rejected\": \"b\"}\n"
                + "{\"prompt\": \"q\", \"chosen\": \"a\", \"rejected\": \"a\"}\n"
                + "{\"chosen\": \"abc\", \"rejected\": \"xyz\"}\n"
                + "{\"prompt\": \"q\", \"chosen\": \"a\", \"rejected\": \"b\", \"margin\": \"big\"}\n"
                + "{\"chosen\": \"Q: hi A: yes\", \"rejected\": \"Q: hi A: no\", \"margin\": 1.5}\n", null);
        has(p, ProblemKind.CHOSEN_EQUALS_REJECTED, 2);
        // finite, but far beyond any reward difference: the loss would overflow
        Run m = validate("m.jsonl", "{\"prompt\": \"q\", \"chosen\": \"a\", \"rejected\": \"b\", \"margin\": 100}\n"
                + "{\"prompt\": \"q\", \"chosen\": \"a\", \"rejected\": \"b\", \"margin\": 1e308}\n", null);
        has(m, ProblemKind.BAD_MARGIN, 2);
        assertTrue(m.printed().get(0).message().contains("field 'margin' must be a number between -100 and 100, got"
                + " 1.0E308"), m.printed().toString());
        has(p, ProblemKind.NO_SHARED_PROMPT, 3);
        has(p, ProblemKind.BAD_MARGIN, 4);
        assertEquals(2, p.report().validRecords());

        Run k = validate("k.jsonl", "{\"prompt\": \"q\", \"responses\": [\"a\", \"b\", \"c\"], \"ranking\": [[1], [0, 2]]}\n"
                + "{\"prompt\": \"q\", \"responses\": [\"a\", \"b\", \"c\"], \"ranking\": [[1], [0]]}\n"
                + "{\"prompt\": \"q\", \"responses\": [\"a\", \"b\"], \"ranking\": [[1], [1, 0]]}\n"
                + "{\"prompt\": \"q\", \"responses\": [\"a\", \"b\"], \"ranking\": [[5], [0]]}\n"
                + "{\"prompt\": \"q\", \"responses\": [\"a\"], \"ranking\": [[0]]}\n", null);
        assertEquals(3, k.printed().stream().filter(x -> x.kind() == ProblemKind.RANKING_NOT_A_PERMUTATION).count());
        assertEquals(List.of(2L, 3L, 4L), k.printed().stream()
                .filter(x -> x.kind() == ProblemKind.RANKING_NOT_A_PERMUTATION).map(Problem::line).toList());
        has(k, ProblemKind.TOO_FEW_RESPONSES, 5);
    }

    @Test
    void unknownFormatAndForcedFormat() throws Exception {
        Run u = validate("u.jsonl", "{\"foo\": 1}\n{\"text\": \"hello\"}\n{\"text\": \"\"}\n", null);
        has(u, ProblemKind.UNKNOWN_FORMAT, 1);
        has(u, ProblemKind.EMPTY_TEXT, 3);
        assertEquals(RecordKind.TEXT, u.report().files().get(0).kind());
        // forcing a format checks every line against it
        Run f = validate("f.jsonl", "{\"text\": \"hello\"}\n", RecordKind.COMPLETION);
        assertEquals(3, f.printed().size(), f.printed().toString()); // unrecognized text, missing prompt and completion
        assertTrue(f.printed().stream().anyMatch(x -> x.kind() == ProblemKind.MISSING_FIELD));
    }

    @Test
    void labelBalanceAndEpochSuggestion() throws Exception {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 30; i++) {
            sb.append("{\"prompt\": \"review ").append(i).append("\", \"completion\": \" ").append(1 + i % 3).append("\"}\n");
        }
        Run r = validate("l.jsonl", sb.toString(), null);
        assertTrue(r.report().ok());
        assertEquals(java.util.Map.of("1", 10L, "2", 10L, "3", 10L), r.report().labelCounts());
        assertEquals(3, r.report().suggestedEpochs(), "30 examples: 3 epochs reach 90 < 100, so 100/30 = 3");
        assertEquals(25, Validator.suggestedEpochs(2));
        assertEquals(10, Validator.suggestedEpochs(10));
        assertEquals(3, Validator.suggestedEpochs(1000));
        assertEquals(2, Validator.suggestedEpochs(10_000));
        assertEquals(1, Validator.suggestedEpochs(100_000));
        Run free = validate("free.jsonl", "{\"prompt\": \"a\", \"completion\": \" a long free-form answer that is no label at all\"}\n", null);
        assertNull(free.report().labelCounts());
    }

    @Test
    void tokenStatisticsForEveryKindWithATokenizer() throws Exception {
        org.align4j.core.tokenizer.BpeTrainer t = new org.align4j.core.tokenizer.BpeTrainer(300,
                List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>"));
        t.addText("hello world the cat sat");
        org.align4j.core.tokenizer.BpeTokenizer tok = t.train(null);
        int eos = tok.specialId("<|endoftext|>").getAsInt();
        org.align4j.data.batch.ExampleEncoder enc = new org.align4j.data.batch.ExampleEncoder(tok,
                org.align4j.core.chat.ChatTemplate.chatMl(), eos);
        Path f = tmp.resolve("c.jsonl");
        Files.writeString(f, "{\"prompt\": \"hello\", \"completion\": \" world\"}\n"
                + "{\"prompt\": \"the cat sat on the mat\", \"completion\": \" hello\"}\n");
        ValidationReport r = new Validator(enc, 4, null, null).validate(List.of(f));
        int a = tok.encode("hello").length + tok.encode(" world").length + 1;
        int b = tok.encode("the cat sat on the mat").length + tok.encode(" hello").length + 1;
        assertEquals(Math.min(a, b), r.tokens().min());
        assertEquals(Math.max(a, b), r.tokens().max());
        assertEquals((a + b) / 2.0, r.tokens().mean(), 1e-12);
        assertEquals((a > 4 ? 1 : 0) + (b > 4 ? 1 : 0), r.tokens().overMaxLength());
        // preferences and rankings are measured too (longest of their sequences)
        Path p = tmp.resolve("p.jsonl");
        Files.writeString(p, "{\"prompt\": \"hello\", \"chosen\": \" world\", \"rejected\": \" cat\"}\n"
                + "{\"prompt\": [{\"role\": \"user\", \"content\": \"hello\"}], \"chosen\": [{\"role\": \"assistant\","
                + " \"content\": \"world\"}], \"rejected\": [{\"role\": \"assistant\", \"content\": \"cat\"}]}\n");
        ValidationReport pr = new Validator(enc, 0, null, null).validate(List.of(p));
        assertTrue(pr.ok(), pr.problems().toString());
        // text: prompt + the longer response + end of sequence
        assertEquals(tok.encode("hello").length + Math.max(tok.encode(" world").length, tok.encode(" cat").length) + 1,
                pr.tokens().min());
        // messages: the ChatML prompt with its generation prompt + the longer reply with its end marker
        int prompt = tok.encode("<|im_start|>user\n", true).length + tok.encode("hello").length
                + tok.encode("<|im_end|>\n", true).length + tok.encode("<|im_start|>assistant\n", true).length;
        int reply = Math.max(tok.encode("world").length, tok.encode("cat").length) + tok.encode("<|im_end|>\n", true).length;
        assertEquals(prompt + reply, pr.tokens().max());
    }

    @Test
    void openAisDpoFormatReadsAsTheSamePairsAsTrlsConversationalOne() throws Exception {
        String openAi = "{\"input\": {\"messages\": [{\"role\": \"user\", \"content\": \"hello\"}], \"tools\": [],"
                + " \"parallel_tool_calls\": true}, \"preferred_output\": [{\"role\": \"assistant\", \"content\":"
                + " \"world\"}], \"non_preferred_output\": [{\"role\": \"assistant\", \"content\": \"cat\"}]}\n";
        String trl = "{\"prompt\": [{\"role\": \"user\", \"content\": \"hello\"}], \"chosen\": [{\"role\": \"assistant\","
                + " \"content\": \"world\"}], \"rejected\": [{\"role\": \"assistant\", \"content\": \"cat\"}]}\n";
        Path a = tmp.resolve("openai.jsonl");
        Path b = tmp.resolve("trl.jsonl");
        Files.writeString(a, openAi);
        Files.writeString(b, trl);
        // what dpo --train, reward --train and data validate read: the same record either way
        org.align4j.data.format.Dataset da = org.align4j.data.format.Dataset.read(a, null, false);
        org.align4j.data.format.Dataset db = org.align4j.data.format.Dataset.read(b, null, false);
        assertEquals(RecordKind.PREFERENCE, da.kind());
        assertEquals(db.records(), da.records());
        Run ok = validate("openai.jsonl", openAi, null);
        assertTrue(ok.report().ok(), ok.printed().toString());
        assertEquals(1L, ok.report().recordsByKind().get(RecordKind.PREFERENCE));

        String bad = String.join("\n",
                "{\"input\": {\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}, \"preferred_output\": [{\"role\":"
                        + " \"assistant\", \"content\": \"a\"}]}",                                                    // 1
                "{\"input\": {\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}, \"preferred_output\": [{\"role\":"
                        + " \"user\", \"content\": \"a\"}], \"non_preferred_output\": [{\"role\": \"assistant\", \"content\": \"b\"}]}", // 2
                "{\"input\": {\"messages\": [{\"role\": \"robot\", \"content\": \"hi\"}]}, \"preferred_output\": [{\"role\":"
                        + " \"assistant\", \"content\": \"a\"}], \"non_preferred_output\": [{\"role\": \"assistant\", \"content\": \"b\"}]}", // 3
                "{\"input\": {\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}, \"preferred_output\": [{\"role\":"
                        + " \"assistant\", \"content\": \"a\"}], \"non_preferred_output\": [{\"role\": \"assistant\", \"content\": \"a\"}]}") // 4
                + "\n";
        Run r = validate("bad.jsonl", bad, null);
        has(r, ProblemKind.MISSING_FIELD, 1);
        assertTrue(r.printed().stream().anyMatch(p -> p.line() == 1 && p.message().contains("'non_preferred_output'")));
        assertTrue(r.printed().stream().anyMatch(p -> p.line() == 2 && p.message().contains("'preferred_output'")
                && p.message().contains("role 'user'")), r.printed().toString());
        has(r, ProblemKind.UNRECOGNIZED_ROLE, 3);
        assertTrue(r.printed().stream().anyMatch(p -> p.line() == 3 && p.message().contains("input.messages[0].role")));
        has(r, ProblemKind.CHOSEN_EQUALS_REJECTED, 4);
        assertEquals(4, r.report().invalidRecords());
    }

    @Test
    void billedTokensAreEachRecordsTokensUpToTheMaxLength() throws Exception {
        org.align4j.core.tokenizer.BpeTrainer t = new org.align4j.core.tokenizer.BpeTrainer(300,
                List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>"));
        t.addText("hello world the cat sat");
        org.align4j.core.tokenizer.BpeTokenizer tok = t.train(null);
        int eos = tok.specialId("<|endoftext|>").getAsInt();
        org.align4j.data.batch.ExampleEncoder enc = new org.align4j.data.batch.ExampleEncoder(tok,
                org.align4j.core.chat.ChatTemplate.chatMl(), eos);
        Path f = tmp.resolve("b.jsonl");
        Files.writeString(f, "{\"prompt\": \"hello\", \"completion\": \" world\"}\n"
                + "{\"prompt\": \"the cat sat on the mat\", \"completion\": \" hello\"}\n");
        // by hand: prompt + completion + end of sequence, each capped at the max length
        int a = tok.encode("hello").length + tok.encode(" world").length + 1;
        int b = tok.encode("the cat sat on the mat").length + tok.encode(" hello").length + 1;
        int cap = Math.max(a, b) - 1;
        ValidationReport r = new Validator(enc, cap, null, null).validate(List.of(f));
        assertEquals(Math.min(a, cap) + Math.min(b, cap), r.tokens().billedTokens());
        assertEquals(3L * (Math.min(a, cap) + Math.min(b, cap)), r.estimatedTrainingTokens(3));
        ValidationReport all = new Validator(enc, 0, null, null).validate(List.of(f));
        assertEquals(a + b, all.tokens().billedTokens());
        assertNull(new Validator(null, 0, null, null).validate(List.of(f)).estimatedTrainingTokens(3));
    }
}
