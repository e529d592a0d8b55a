package org.align4j.cli;

import static org.align4j.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

import com.fasterxml.jackson.databind.JsonNode;

import org.align4j.core.checkpoint.ModelDirectory;
import org.align4j.core.kernels.GenericKernels;
import org.align4j.core.model.DecoderModel;
import org.align4j.core.util.Json;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** {@code score} as Spark jobs on an embedded local[2]: the single process's output, byte for byte. */
class SparkScoreTest {

    @TempDir
    static Path tmp;
    static Path rm;
    static Path data;

    @BeforeAll
    static void rewardModelAndRecords() throws Exception {
        // the embedded base model with a score head of seeded random weights (a fresh head is zero, and
        // equal zeros would make the comparison below vacuous)
        Path base = Path.of("..", "examples", "base-model");
        DecoderModel m = ModelDirectory.load(base, new GenericKernels(), DataType.FLOAT, true);
        INDArray head = m.parameters().get(DecoderModel.SCORE_HEAD);
        SplittableRandom r = new SplittableRandom(4);
        for (long i = 0; i < head.length(); i++) {
            head.putScalar(i, r.nextGaussian() * 0.1);
        }
        rm = tmp.resolve("rm");
        ModelDirectory.save(m, rm);
        ModelDirectory.copyTokenizerFiles(base, rm);
        data = tmp.resolve("data.jsonl");
        // preference pairs of ragged lengths: 14 sequences, whose length batches mix the records
        Files.writeString(data, String.join("\n",
                "{\"prompt\": \"The cat\", \"chosen\": \" sat on the mat.\", \"rejected\": \" ran\"}",
                "{\"prompt\": \"Once upon a time\", \"chosen\": \" there was a happy goose.\", \"rejected\": \" no\"}",
                "{\"prompt\": \"It was\", \"chosen\": \" a lovely day.\", \"rejected\": \" bad\"}",
                "{\"prompt\": \"I\", \"chosen\": \" laughed\", \"rejected\": \" went to bed early that night\"}",
                "{\"prompt\": \"The film was\", \"chosen\": \" a fluffy koala who loved to bake.\", \"rejected\": \" dull\"}",
                "{\"prompt\": \"She said\", \"chosen\": \" yes\", \"rejected\": \" that the dog ran far away.\"}",
                "{\"prompt\": \"Tomorrow\", \"chosen\": \" we go.\", \"rejected\": \" it rains\"}") + "\n");
    }

    @Test
    void scoresAreByteIdenticalToTheSingleProcessForOneTwoAndThreePartitions() throws Exception {
        String[] single = run("", "score", "--model", rm.toString(), "--data", data.toString(), "--batch-size", "3");
        assertEquals("0", single[0], single[2]);
        List<String> lines = single[1].lines().toList();
        assertEquals(7, lines.size());
        Set<String> distinct = new HashSet<>();
        for (String line : lines) {
            JsonNode o = Json.MAPPER.readTree(line);
            assertTrue(o.get("reward_chosen").isNumber() && o.get("reward_rejected").isNumber(), line);
            distinct.add(o.get("reward_chosen").asText());
            distinct.add(o.get("reward_rejected").asText());
        }
        assertEquals(14, distinct.size(), "a head that scores texts differently: " + single[1]);
        for (String partitions : new String[] {"1", "2", "3"}) {
            String[] spark = run("", "score", "--model", rm.toString(), "--data", data.toString(), "--batch-size", "3",
                    "--spark-master", "local[2]", "--spark-partitions", partitions);
            assertEquals("0", spark[0], spark[2]);
            assertEquals(single[1], spark[1], partitions + " partitions");
            assertEquals(single[2], spark[2], "the same accuracy line");
        }
    }
}
