package org.align4j.cli;

import static org.align4j.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.checkpoint.Safetensors;
import org.align4j.core.kernels.GenericKernels;
import org.align4j.core.model.GptModel;
import org.align4j.core.model.ParameterSet;
import org.align4j.core.run.RunDirectory;

/**
 * Layer freezing and BitFit through the command line: frozen tensors are bit-identical after
 * training, the others move, checkpoints hold optimizer moments for the trainable tensors only,
 * and a cancelled run with frozen layers resumes to the losses of an uninterrupted one.
 */
class FreezeRunTest {

    @TempDir
    static Path tmp;
    static TinyModel.TextAndPairs data;

    @BeforeAll
    static void modelAndData() throws Exception {
        data = TinyModel.textAndPairs(tmp, 2, 200);
    }

    private static GptModel load(Path dir, boolean head) throws Exception {
        return (GptModel) ModelDirectory.load(dir, new GenericKernels(), DataType.FLOAT, head);
    }

    /** Names whose tensors differ between the two models. */
    private static List<String> changed(GptModel a, GptModel b) {
        return a.parameters().names().stream().filter(n -> !a.parameters().get(n).equals(b.parameters().get(n)))
                .toList();
    }

    private static String[] sft(Path out, String... extra) {
        List<String> a = new java.util.ArrayList<>(List.of("sft", "--model", data.model().toString(), "--train",
                data.text().toString(), "--out", out.toString(), "--max-steps", "4", "--batch-size", "8", "--lr", "3e-3",
                "--save-every", "2", "--seed", "3", "--max-length", "32", "--no-packing"));
        a.addAll(List.of(extra));
        return a.toArray(new String[0]);
    }

    @Test
    void frozenLayersStayAndTheRestTrainsAndResumes() throws Exception {
        Path out = tmp.resolve("frozen");
        String[] r = run("", sft(out, "--freeze", "embeddings,layers:0"));
        assertEquals("0", r[0], r[2]);
        assertTrue(r[2].contains("train (all but embeddings, layers:0; optimizer state"), r[2]);
        GptModel base = load(data.model(), false);
        GptModel fin = load(out.resolve("final"), false);
        long trainable = 0;
        for (ParameterSet.Spec s : base.parameters().specs()) {
            boolean frozen = s.name().startsWith("wte.") || s.name().startsWith("wpe.") || s.name().startsWith("h.0.");
            boolean moved = changed(base, fin).contains(s.name());
            assertEquals(!frozen, moved, s.name() + (frozen ? " is frozen" : " trains"));
            trainable += frozen ? 0 : s.size();
        }
        try (Safetensors.Reader opt = Safetensors.open(out.resolve("checkpoints/step-2/optimizer.safetensors"))) {
            assertEquals(trainable, opt.tensors().get("exp_avg").elements(), "moments of trainable tensors only");
        }

        // cancelled at its first step, then resumed: the same losses as the uninterrupted run
        Path resumed = tmp.resolve("frozen-resumed");
        new RunDirectory(resumed).requestCancel();
        assertEquals("0", run("", sft(resumed, "--freeze", "embeddings,layers:0"))[0]);
        assertEquals(RunDirectory.Status.CANCELLED, new RunDirectory(resumed).status());
        String[] again = run("", sft(resumed, "--freeze", "embeddings,layers:0", "--resume"));
        assertEquals("0", again[0], again[2]);
        assertEquals(TinyModel.losses(out), TinyModel.losses(resumed));
        assertEquals(List.of(), changed(fin, load(resumed.resolve("final"), false)));
    }

    @Test
    void bitFitTrainsBiasesAndTheScoreHeadOnly() throws Exception {
        Path out = tmp.resolve("bitfit-rm");
        String[] r = run("", "reward", "--model", data.model().toString(), "--train", data.pairs().toString(), "--out",
                out.toString(), "--max-steps", "3", "--batch-size", "8", "--lr", "1e-2", "--train-only", "biases");
        assertEquals("0", r[0], r[2]);
        GptModel base = load(data.model(), true);
        GptModel fin = load(out.resolve("final"), true);
        List<String> moved = changed(base, fin);
        assertTrue(moved.contains(GptModel.SCORE_HEAD), moved.toString());
        for (String n : moved) {
            assertTrue(n.endsWith(".bias") || n.equals(GptModel.SCORE_HEAD), n + " moved");
        }
        assertTrue(moved.size() > 5, moved.toString());
        String[] both = run("", "reward", "--model", data.model().toString(), "--train", data.pairs().toString(), "--out",
                tmp.resolve("never").toString(), "--max-steps", "1", "--train-only", "biases", "--freeze", "mlp");
        assertEquals("1", both[0]);
        assertTrue(both[2].contains("--freeze and --train-only exclude each other"), both[2]);
        assertTrue(!Files.exists(tmp.resolve("never")));
    }
}
