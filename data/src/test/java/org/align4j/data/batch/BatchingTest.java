package org.align4j.data.batch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.align4j.core.chat.ChatMessage;
import org.align4j.core.chat.ChatTemplate;
import org.align4j.core.tokenizer.BpeTokenizer;
import org.align4j.core.tokenizer.BpeTrainer;
import org.align4j.data.format.DataRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class BatchingTest {

    static BpeTokenizer tok;
    static ExampleEncoder enc;
    static int eos;

    @BeforeAll
    static void tokenizer() {
        BpeTrainer t = new BpeTrainer(400, List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>"));
        t.addText("hello there how are you fine thanks and you the quick brown fox");
        tok = t.train(null);
        eos = tok.specialId("<|endoftext|>").getAsInt();
        enc = new ExampleEncoder(tok, ChatTemplate.chatMl(), eos);
    }

    private static int[] concat(int[]... parts) {
        return Arrays.stream(parts).flatMapToInt(Arrays::stream).toArray();
    }

    @Test
    void multiTurnChatMaskIsExactTokenByToken() {
        List<ChatMessage> conv = List.of(new ChatMessage("system", "be kind"), new ChatMessage("user", "hello"),
                new ChatMessage("assistant", "hello there"), new ChatMessage("user", "how are you"),
                new ChatMessage("assistant", "fine thanks"));
        Example e = enc.encode(new DataRecord.Chat(conv));
        // expected, built by hand from the template's segments
        int[] start = tok.encode("<|im_start|>", true);
        int[] end = tok.encode("<|im_end|>\n", true);
        List<int[]> segs = new ArrayList<>();
        List<Boolean> flags = new ArrayList<>();
        for (ChatMessage m : conv) {
            boolean a = m.role().equals("assistant");
            segs.add(concat(start, tok.encode(m.role() + "\n")));
            flags.add(false);
            segs.add(tok.encode(m.content()));
            flags.add(a);
            segs.add(end);
            flags.add(a);
        }
        List<Integer> ids = new ArrayList<>();
        List<Boolean> mask = new ArrayList<>();
        for (int i = 0; i < segs.size(); i++) {
            for (int id : segs.get(i)) {
                ids.add(id);
                mask.add(flags.get(i));
            }
        }
        assertArrayEquals(ids.stream().mapToInt(Integer::intValue).toArray(), e.ids());
        for (int i = 0; i < mask.size(); i++) {
            assertEquals(mask.get(i), e.trained()[i], "token " + i + " (" + tok.decode(new int[] {e.ids()[i]}) + ")");
        }

        // collated: target j is token j+1 and is trained exactly when token j+1 is
        TrainingBatch b = new Collator(512, Truncation.RIGHT, eos).collate(List.of(e));
        for (int j = 0; j < e.length() - 1; j++) {
            assertEquals(e.ids()[j], b.inputs().tokens()[j]);
            assertEquals(e.ids()[j + 1], b.targets()[j]);
            assertEquals(e.trained()[j + 1] ? 1f : 0f, b.lossMask()[j]);
        }
        assertEquals(e.trainedCount() - (e.trained()[0] ? 1 : 0), b.trainedTokens());
    }

    @Test
    void completionTrainsCompletionAndEosOnly() {
        Example e = enc.encode(new DataRecord.Completion("hello", " fine"));
        int p = tok.encode("hello").length;
        int c = tok.encode(" fine").length;
        assertEquals(p + c + 1, e.length());
        assertEquals(eos, e.ids()[e.length() - 1]);
        for (int i = 0; i < e.length(); i++) {
            assertEquals(i >= p, e.trained()[i]);
        }
        // text: every token, special strings inside the text stay text
        Example t = enc.encode(new DataRecord.Text("the fox<|endoftext|>"));
        assertEquals(t.length(), t.trainedCount());
        assertEquals(1, Arrays.stream(t.ids()).filter(id -> id == eos).count());
    }

    @Test
    void padsMasksAndTruncatesByPolicy() {
        Example a = EncoderFixture.example(new int[] {1, 2, 3, 4, 5, 6}, 2);
        Example b = EncoderFixture.example(new int[] {7, 8, 9}, 1);
        TrainingBatch batch = new Collator(8, Truncation.RIGHT, 0).collate(List.of(a, b));
        assertEquals(5, batch.inputs().time());
        assertArrayEquals(new int[] {1, 2, 3, 4, 5, 7, 8, 0, 0, 0}, batch.inputs().tokens());
        assertArrayEquals(new float[] {0, 1, 1, 1, 1, 1, 1, 0, 0, 0}, batch.lossMask());
        assertArrayEquals(new float[] {1, 1, 1, 1, 1, 1, 1, 0, 0, 0}, batch.inputs().keyMask());
        float sum = 0;
        for (float w : batch.weights()) {
            sum += w;
        }
        assertEquals(1f, sum, 1e-6);
        TrainingBatch right = new Collator(3, Truncation.RIGHT, 0).collate(List.of(a));
        assertArrayEquals(new int[] {1, 2, 3}, right.inputs().tokens());
        assertArrayEquals(new int[] {2, 3, 4}, right.targets());
        assertEquals(1, right.truncated());
        TrainingBatch left = new Collator(3, Truncation.LEFT, 0).collate(List.of(a));
        assertArrayEquals(new int[] {3, 4, 5}, left.inputs().tokens());
        assertArrayEquals(new int[] {4, 5, 6}, left.targets());
    }

    @Test
    void packingMakesEveryTokenATargetOnce() {
        List<Example> texts = List.of(EncoderFixture.example(new int[] {1, 2, 3, 9}, 0),
                EncoderFixture.example(new int[] {4, 5, 9}, 0), EncoderFixture.example(new int[] {6, 7, 8, 9}, 0));
        List<Example> packed = Packer.pack(texts, 4);
        assertEquals(3, packed.size());
        assertArrayEquals(new int[] {1, 2, 3, 9, 4}, packed.get(0).ids());
        assertArrayEquals(new int[] {4, 5, 9, 6, 7}, packed.get(1).ids());
        assertArrayEquals(new int[] {7, 8, 9}, packed.get(2).ids());
        int targets = packed.stream().mapToInt(e -> e.length() - 1).sum();
        assertEquals(11 - 1, targets);
    }

    @Test
    void batchPlanIsSeededCoversEachExampleOnceAndGroupsLengths() {
        int[] lengths = new int[1000];
        java.util.SplittableRandom r = new java.util.SplittableRandom(3);
        for (int i = 0; i < lengths.length; i++) {
            lengths[i] = 1 + r.nextInt(500);
        }
        BatchPlan plain = new BatchPlan(lengths, 8, 42, false);
        BatchPlan grouped = new BatchPlan(lengths, 8, 42, true);
        for (BatchPlan plan : List.of(plain, grouped)) {
            List<int[]> e0 = plan.epoch(0);
            assertEquals(125, e0.size());
            int[] all = e0.stream().flatMapToInt(Arrays::stream).sorted().toArray();
            for (int i = 0; i < all.length; i++) {
                assertEquals(i, all[i]);
            }
            assertEquals(Arrays.deepToString(e0.toArray()), Arrays.deepToString(plan.epoch(0).toArray()));
            assertNotEquals(Arrays.deepToString(e0.toArray()), Arrays.deepToString(plan.epoch(1).toArray()));
        }
        assertTrue(padding(grouped.epoch(0), lengths) * 5 < padding(plain.epoch(0), lengths),
                "grouping by length cuts padding");
        assertNotEquals(Arrays.deepToString(plain.epoch(0).toArray()),
                Arrays.deepToString(new BatchPlan(lengths, 8, 43, false).epoch(0).toArray()));
    }

    private static long padding(List<int[]> batches, int[] lengths) {
        long pad = 0;
        for (int[] b : batches) {
            int max = Arrays.stream(b).map(i -> lengths[i]).max().orElse(0);
            for (int i : b) {
                pad += max - lengths[i];
            }
        }
        return pad;
    }

    /** Examples with the first {@code untrained} tokens untrained. */
    static final class EncoderFixture {
        static Example example(int[] ids, int untrained) {
            boolean[] t = new boolean[ids.length];
            Arrays.fill(t, untrained, ids.length, true);
            return new Example(ids, t);
        }
    }
}
