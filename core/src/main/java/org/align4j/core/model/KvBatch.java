package org.align4j.core.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.ToIntFunction;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The KV cache of a running decoding batch whose rows are independent sequences that join and
 * leave between steps (continuous batching). A joining sequence is prefilled alone (a GEMM over
 * its prompt) into its own one-row cache; its keys and values are then copied into a free row of
 * the batch at the slots that end at the batch's shared length, with the row's other slots masked.
 *
 * <p>This is exact because cached attention is order-invariant over key slots given the mask, and
 * positions are passed per row (GPT-2 adds its position embedding before K is computed; Llama
 * rotates K at its own position): where a row's keys sit in the cache does not change what it
 * attends to. The shared length only grows, so the cache is rebuilt (rows packed to the front,
 * each row's keys right-aligned, the empty slots in front dropped) when it runs out of slots, when
 * a joiner has no free row or a longer prompt than the shared length, and when most rows are free.
 * Rebuilds copy the cache; they happen on joins and every few dozen steps, not every step.
 */
public final class KvBatch {

    /** Slots beyond the longest row a rebuilt cache keeps free, so that it is not rebuilt every step. */
    private static final int HEADROOM = 64;

    /** One sequence's row. Its index changes when the cache is rebuilt; read it after {@link #step}. */
    public static final class Row {
        private int index;
        /** First slot of the row's keys; its keys fill {@code [start, length)}. */
        private int start;
        private boolean open = true;

        public int index() {
            return index;
        }
    }

    private final DecoderModel model;
    private final int maxRows;
    private KvCache cache;
    /** Rows by index in {@link #cache}; null where free. */
    private Row[] rows = new Row[0];
    private int active;
    private int rebuilds;

    public KvBatch(DecoderModel model, int maxRows) {
        if (maxRows < 1) {
            throw new IllegalArgumentException("maxRows must be >= 1, got " + maxRows);
        }
        this.model = model;
        this.maxRows = maxRows;
    }

    /** Sequences in the batch. */
    public int active() {
        return active;
    }

    /** Whether another sequence may join. */
    public boolean hasRoom() {
        return active < maxRows;
    }

    /** Rows of the cache a step computes (free ones included): the decoding batch size. */
    public int width() {
        return cache == null ? 0 : cache.batch();
    }

    /** How many times the cache was rebuilt (for tests and measurement). */
    public int rebuilds() {
        return rebuilds;
    }

    /** The shared length: slots filled so far. */
    public int length() {
        return cache == null ? 0 : cache.length();
    }

    /**
     * Adds the sequence prefilled into {@code prefilled} (a one-row cache of its prompt) to the
     * batch; it takes part from the next {@link #step}. The caller drops {@code prefilled} after.
     */
    public Row join(KvCache prefilled) {
        if (prefilled.batch() != 1 || prefilled.length() < 1) {
            throw new IllegalArgumentException("a joining sequence is one prefilled row, got batch "
                    + prefilled.batch() + " of length " + prefilled.length());
        }
        if (!hasRoom()) {
            throw new IllegalStateException("the batch is full (" + maxRows + " rows)");
        }
        int n = prefilled.length();
        Row row = new Row();
        int free = freeRow();
        if (cache == null || free < 0 || n > cache.length()) {
            rebuild(n);
            free = freeRow();
        }
        int end = cache.length();
        copySlots(prefilled, 0, 0, cache, free, end - n, n);
        row.index = free;
        row.start = end - n;
        rows[free] = row;
        active++;
        cache.maskRow(free, row.start, end);
        cache.uploadMask();
        return row;
    }

    /** Takes {@code row} out of the batch; its slots are masked and its index freed. */
    public void leave(Row row) {
        if (!row.open) {
            return;
        }
        row.open = false;
        rows[row.index] = null;
        cache.maskRow(row.index, 0, 0);
        active--;
        if (active == 0) {
            cache = null; // the next join starts a fresh cache sized for it
            rows = new Row[0];
        }
    }

    /**
     * One decoding step: every row takes its next token at its own position (free rows compute a
     * masked dummy token). Returns the logits {@code [width(), V]}, row {@code r.index()} for row
     * {@code r}; indices do not change between this call and the next join, leave or step.
     */
    public INDArray step(ToIntFunction<Row> token, ToIntFunction<Row> position) {
        if (active == 0) {
            throw new IllegalStateException("no sequence in the batch");
        }
        if (cache.length() + 1 > cache.capacity() || (cache.batch() > 1 && active * 4 <= cache.batch())) {
            rebuild(0);
        }
        int b = cache.batch();
        int[] tokens = new int[b];
        int[] positions = new int[b];
        float[] mask = new float[b];
        int pad = model.config().eosTokenId();
        for (int i = 0; i < b; i++) {
            Row r = rows[i];
            tokens[i] = r == null ? pad : token.applyAsInt(r);
            positions[i] = r == null ? 0 : position.applyAsInt(r);
            mask[i] = r == null ? 0f : 1f;
        }
        cache.setMasks(mask, 1);
        return model.forwardCached(cache, tokens, positions, 1);
    }

    private int freeRow() {
        for (int i = 0; i < rows.length; i++) {
            if (rows[i] == null) {
                return i;
            }
        }
        return -1;
    }

    /**
     * A new cache with the open rows packed to the front (in their order), each right-aligned at
     * the new shared length (the longest row, or {@code joining}'s prompt when longer), room for
     * one more row when {@code joining > 0}, and headroom for the steps to come.
     */
    private void rebuild(int joining) {
        int needRows = active + (joining > 0 ? 1 : 0);
        int longest = joining;
        for (Row r : rows) {
            if (r != null) {
                longest = Math.max(longest, cache.length() - r.start);
            }
        }
        int context = model.config().contextLength();
        if (longest + 1 > context) {
            throw new IllegalStateException("a row fills the context of " + context + " positions; end it first");
        }
        // a power of two, so that joins mostly find a free row without a rebuild
        int width = needRows <= 1 ? 1 : Math.min(maxRows, Integer.highestOneBit(needRows - 1) << 1);
        width = Math.max(width, needRows);
        int capacity = Math.min(context, Math.max(longest + HEADROOM, 2 * longest));
        KvCache next = model.emptyCache(width, capacity);
        next.advance(longest);
        Row[] packed = new Row[width];
        int j = 0;
        for (Row r : rows) {
            if (r == null) {
                continue;
            }
            int n = cache.length() - r.start;
            copySlots(cache, r.index, r.start, next, j, longest - n, n);
            next.maskRow(j, longest - n, longest);
            r.index = j;
            r.start = longest - n;
            packed[j++] = r;
        }
        next.uploadMask();
        cache = next;
        rows = packed;
        rebuilds++;
    }

    /** Copies {@code n} slots of every layer's keys and values from one row and offset to another. */
    private static void copySlots(KvCache from, int fromRow, int fromSlot, KvCache to, int toRow, int toSlot, int n) {
        for (int l = 0; l < from.layers(); l++) {
            slots(to.keys(l), toRow, toSlot, n).assign(slots(from.keys(l), fromRow, fromSlot, n));
            slots(to.values(l), toRow, toSlot, n).assign(slots(from.values(l), fromRow, fromSlot, n));
        }
    }

    private static INDArray slots(INDArray kv, int row, int slot, int n) {
        return kv.get(NDArrayIndex.point(row), NDArrayIndex.interval(slot, slot + n), NDArrayIndex.all());
    }

    /** The open rows, in index order. */
    public List<Row> rows() {
        List<Row> out = new ArrayList<>(active);
        Arrays.stream(rows).filter(r -> r != null).forEach(out::add);
        return out;
    }
}
