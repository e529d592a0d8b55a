package org.align4j.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import picocli.CommandLine.Mixin;
import org.align4j.core.backend.Backend;
import org.align4j.core.output.OutputCheck;
import org.align4j.core.output.PathKind;
import org.align4j.core.util.Json;
import org.align4j.data.format.Content;
import org.align4j.data.format.DataRecord;
import org.align4j.data.format.Dataset;
import org.align4j.data.jsonl.JsonlReader;
import org.align4j.data.jsonl.JsonlWriter;
import org.align4j.reward.RewardGroup;
import org.align4j.reward.RewardScorer;
import org.align4j.train.scale.Cluster;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "score", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Score responses with a reward model, batched by length. Writes each input record with its"
                + " fields plus 'reward' (text: exactly its tokens; prompt-completion; chat), 'reward_chosen' and"
                + " 'reward_rejected' (preference pairs; the pairwise accuracy is printed), or 'rewards' (rankings,"
                + " one per response). A text gets the same reward here as during training.",
        footer = {"", "Examples:",
                "  align4j score --model runs/rm/final --data pairs.val.jsonl --out scored.jsonl",
                "  align4j score --model runs/rm/final --data samples.jsonl        (JSON lines on stdout)",
                "  align4j score --model runs/rm/final --data samples.jsonl --spark-master 'local[2]'"})
final class ScoreCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "RM_DIR", description = "reward model directory")
    Path model;
    @Mixin
    AdapterOption adapter;
    @Option(names = "--data", required = true, paramLabel = "FILE",
            description = "JSONL of text, completion, chat, preference or ranking records")
    Path data;
    @Option(names = "--out", paramLabel = "FILE", description = "write the scored records here (default: stdout)")
    Path out;
    @Mixin
    ForceOption force;
    @Range(min = 1, max = 65536)
    @Option(names = "--batch-size", paramLabel = "N", defaultValue = "16",
            description = "sequences scored together (default: ${DEFAULT-VALUE})")
    int batchSize;
    @Mixin
    SparkOption spark;

    @Override
    public Integer call() throws Exception {
        if (batchSize < 1) {
            throw new UserError("--batch-size must be at least 1, got " + batchSize);
        }
        if (out != null) {
            OutputCheck.of("--out", out).replaces(PathKind.DATA).input("--model", model).input("--data", data)
                    .check(force.force);
        }
        Dataset d = Dataset.read(data, null, false, null);
        Map<Long, JsonNode> raw = new HashMap<>();
        try (JsonlReader in = new JsonlReader(data)) {
            JsonlReader.Line line;
            while ((line = in.next()) != null) {
                if (line.ok()) {
                    raw.put(line.number(), line.json());
                }
            }
        }
        RewardScorer scorer = RewardScorer.load(adapter.source(model), Backend.get().kernels());
        List<int[]> seqs = new ArrayList<>();
        int[] offsets = new int[d.records().size()];
        for (int i = 0; i < d.records().size(); i++) {
            DataRecord r = d.records().get(i);
            offsets[i] = seqs.size();
            if (r instanceof DataRecord.Preference || r instanceof DataRecord.Ranking) {
                for (Content[] pr : RewardGroup.promptResponses(r)) {
                    seqs.add(scorer.encoder().scoredSequence(pr[0], pr[1]));
                }
            } else {
                seqs.add(scorer.encoder().scoredSequence(r));
            }
        }
        double[] scores;
        if (spark.enabled()) {
            Cluster cluster = spark.connect();
            scores = ScoreWork.score(cluster, spark.partitions(cluster), seqs, batchSize, model, adapter.adapter);
        } else {
            scores = scorer.score(seqs, batchSize);
        }
        List<ObjectNode> rows = new ArrayList<>();
        int pairs = 0;
        int correct = 0;
        for (int i = 0; i < d.records().size(); i++) {
            DataRecord r = d.records().get(i);
            ObjectNode row = ((ObjectNode) raw.get(d.lines().get(i))).deepCopy();
            int o = offsets[i];
            if (r instanceof DataRecord.Preference) {
                row.put("reward_chosen", scores[o]);
                row.put("reward_rejected", scores[o + 1]);
                pairs++;
                correct += scores[o] > scores[o + 1] ? 1 : 0;
            } else if (r instanceof DataRecord.Ranking k) {
                var a = row.putArray("rewards");
                for (int j = 0; j < k.responses().size(); j++) {
                    a.add(scores[o + j]);
                }
            } else {
                row.put("reward", scores[o]);
            }
            rows.add(row);
        }
        if (out != null) {
            JsonlWriter.write(out, rows);
            System.err.printf("scored %d record(s) (%d sequences) into %s%n", rows.size(), seqs.size(), out);
        } else {
            PrintStream stdout = Console.stdout();
            for (ObjectNode row : rows) {
                stdout.println(Json.MAPPER.writeValueAsString(row));
            }
            stdout.flush();
        }
        if (pairs > 0) {
            System.err.printf("pairwise accuracy: %.4f (%d of %d pairs: reward_chosen > reward_rejected)%n",
                    (double) correct / pairs, correct, pairs);
        }
        return 0;
    }
}
