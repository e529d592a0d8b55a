package org.align4j.core.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import org.align4j.core.kernels.GenericKernels;
import org.align4j.core.kernels.Kernels;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.model.GptConfig;
import org.align4j.core.model.GptModel;
import org.align4j.core.model.LoraConfig;
import org.align4j.core.model.QuantizedWeights;
import org.align4j.core.model.TokenBatch;
import org.align4j.core.model.Trainable;

/**
 * New adapters on a stored one: the stored adapter's model, merged in memory, is their base, so
 * with them off (or at B = 0) the model is that adapter's exactly, on a quantized base too; the
 * result saves as an adapter naming the stored one, and loads back as it was.
 */
class AdapterLoadingTest {

    private static final GptConfig CFG = GptConfig.of(13, 8, 16, 2, 2);
    private static final LoraConfig OLD = new LoraConfig(2, 4.0, List.of("c_attn", "c_proj"));
    private static final LoraConfig NEW = new LoraConfig(3, 6.0, List.of("c_fc"));
    private static final TokenBatch BATCH = TokenBatch.rightPadded(new int[][] {{3, 1, 4, 1, 5, 9}, {2, 6, 5}}, 0);

    @TempDir
    Path tmp;

    /** A base directory and an adapter on it with random B (far from the base). */
    private Path adapterOnABase(Kernels k) throws Exception {
        Path base = tmp.resolve("base");
        ModelDirectory.save(new GptModel(CFG, k, DataType.FLOAT).initialize(1), base);
        DecoderModel adapted = ModelDirectory.load(base, k, DataType.FLOAT,
                new ModelDirectory.Setup(false, c -> Trainable.ALL, OLD, 2, null));
        SplittableRandom r = new SplittableRandom(3);
        for (String n : adapted.parameters().names()) {
            if (n.contains("lora_B")) {
                INDArray b = adapted.parameters().get(n);
                double[] v = r.doubles(b.length(), -0.5, 0.5).toArray();
                b.assign(Nd4j.create(v, b.shape(), DataType.DOUBLE).castTo(DataType.FLOAT));
            }
        }
        Path adapter = tmp.resolve("runs/a/final");
        ModelDirectory.save(adapted, adapter);
        return adapter;
    }

    @Test
    void freshAdaptersOnAStoredOneStartAtItsModel() throws Exception {
        Kernels k = new GenericKernels();
        Path adapter = adapterOnABase(k);
        INDArray want = ModelDirectory.load(adapter, k, DataType.FLOAT).forward(BATCH).dup();
        assertNotEquals(want, ModelDirectory.load(tmp.resolve("base"), k, DataType.FLOAT).forward(BATCH),
                "the adapter changes the model");

        DecoderModel stacked = ModelDirectory.load(adapter, k, DataType.FLOAT,
                new ModelDirectory.Setup(false, c -> Trainable.ALL, NEW, 4, null));
        assertEquals(NEW, stacked.lora());
        assertEquals(want, stacked.forward(BATCH).dup(), "B = 0: the stored adapter's model");
        stacked.setAdaptersEnabled(false);
        assertEquals(want, stacked.forward(BATCH).dup(), "adapters off: the stored adapter's model");
        stacked.setAdaptersEnabled(true);

        // trained a little (B moved), saved, loaded back from its own directory
        stacked.parameters().get("h.0.mlp.c_fc.lora_B.weight").addi(0.25);
        INDArray trained = stacked.forward(BATCH).dup();
        assertNotEquals(want, trained);
        Path out = tmp.resolve("runs/b/final");
        ModelDirectory.save(stacked, out);
        assertEquals(adapter.toRealPath(), out.resolve(PeftAdapter.read(out).baseModel()).toRealPath());
        assertEquals(trained, ModelDirectory.load(out, k, DataType.FLOAT).forward(BATCH));
    }

    @Test
    void aQuantizedBaseFromMemoryIsTheOneFromFiles() throws Exception {
        Kernels k = new GenericKernels();
        Path base = tmp.resolve("qbase");
        ModelDirectory.save(new GptModel(CFG, k, DataType.FLOAT).initialize(5), base);
        for (QuantizedWeights.Kind kind : QuantizedWeights.Kind.values()) {
            DecoderModel fromFiles = ModelDirectory.load(base, k, DataType.FLOAT,
                    new ModelDirectory.Setup(false, c -> Trainable.ALL, NEW, 4, kind));
            DecoderModel fromMemory = ModelDirectory.load(base, k, DataType.FLOAT)
                    .asBaseOf(false, Trainable.ALL, NEW, kind).initializeAdapters(4);
            assertEquals(fromFiles.forward(BATCH).dup(), fromMemory.forward(BATCH).dup(), kind.toString());
        }
    }

    @Test
    void aQloraAdapterRecordsItsQuantizationAndLoadsOnIt() throws Exception {
        Kernels k = new GenericKernels();
        Path base = tmp.resolve("q2base");
        ModelDirectory.save(new GptModel(CFG, k, DataType.FLOAT).initialize(6), base);
        DecoderModel q = ModelDirectory.load(base, k, DataType.FLOAT,
                new ModelDirectory.Setup(false, c -> Trainable.ALL, OLD, 4, QuantizedWeights.Kind.NF4));
        q.parameters().get("h.1.attn.c_attn.lora_B.weight").addi(0.3);
        INDArray want = q.forward(BATCH).dup();
        Path adapter = tmp.resolve("qlora");
        ModelDirectory.save(q, adapter);
        assertEquals(QuantizedWeights.Kind.NF4, PeftAdapter.quantization(adapter));
        DecoderModel back = ModelDirectory.load(adapter, k, DataType.FLOAT);
        assertEquals(QuantizedWeights.Kind.NF4, back.quantized().kind());
        assertEquals(want, back.forward(BATCH));
    }
}
