package org.align4j.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import org.align4j.core.backend.Backend;
import org.align4j.core.output.OutputCheck;
import org.align4j.pipeline.Pipeline;
import org.align4j.pipeline.PolicyComparison;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "pipeline", mixinStandardHelpOptions = true, sortOptions = false,
        description = "The whole alignment on the controlled task (positive stories): the task's files, SFT on the"
                + " base model, K candidates per training prompt from the SFT model, labels from simulated"
                + " annotators (or --judgments from 'label session'), the reward model, PPO, PPO-ptx and DPO from the"
                + " same labels (and KTO and online DPO when the config has their sections), then every policy on"
                + " the held-out prompts under the gold judge, and a report."
                + " Each training stage is a run directory under --out; running the command again with --resume"
                + " skips finished stages and resumes an interrupted one from its last checkpoint. Writes"
                + " OUT/report.json, OUT/report.html (one self-contained page with plots), OUT/eval/<policy>.jsonl."
                + " With --spark-master, every training stage (SFT, the reward model, PPO, DPO, KTO, online DPO) trains"
                + " data-parallel on the cluster, and the candidates and the evaluation sample there.",
        footer = {"", "Config: a JSON object; every key is optional (defaults in parentheses):",
                "  base_model (examples/base-model), seed (1),",
                "  task {train_prompts 400, heldout_prompts 200, sft_train 2000, sft_val 200},",
                "  candidates {k 4, temperature 1.0, top_p 0.95, max_new_tokens 48},",
                "  annotators {judge \"sentiment\", temperature 0.2, validation_fraction 0.15},",
                "  sft, reward, ppo, ppo_ptx, dpo: each what that command's --config file holds, less the paths the"
                        + " pipeline sets (ppo_ptx starts from ppo's settings and ptx_data = the SFT stories),",
                "  kto, online_dpo (absent: not trained): KTO on thumbs from the same rankings (best up, worst down);"
                        + " online DPO on the training prompts, judged by the reward model unless grader or reward_fn is set,",
                "  policies {NAME: MODEL_DIR} (more policies to evaluate),",
                "  eval {max_new_tokens 48, seed 7, batch_size 8, examples 6},",
                "  sweep {dpo_beta [0.05, 0.1, 0.25, 0.5], ppo_kl_coef [0.02, 0.05, 0.1, 0.2]} (with --sweep).",
                "", "Examples:",
                "  align4j pipeline --config examples/positive-stories/pipeline.json",
                "  align4j pipeline --config examples/positive-stories/pipeline.json --resume     (after a crash)",
                "  align4j pipeline --config examples/positive-stories/pipeline.json --sweep --out runs/sweep",
                "  align4j pipeline --config examples/positive-stories/pipeline.json --spark-master 'local[4]'",
                "  align4j label prepare --model runs/positive-stories/sft/final --prompts runs/positive-stories/task/"
                        + "prompts.train.jsonl --k 4 --out tasks.jsonl",
                "  align4j label session --tasks tasks.jsonl --out judgments.jsonl --annotator me",
                "  align4j pipeline --config examples/positive-stories/pipeline.json --tasks tasks.jsonl"
                        + " --judgments judgments.jsonl --out runs/human"})
final class PipelineCommand implements Callable<Integer> {

    @Option(names = "--config", required = true, paramLabel = "FILE", description = "the pipeline's settings (JSON)")
    Path config;
    @Option(names = "--out", defaultValue = "runs/positive-stories", paramLabel = "DIR",
            description = "the pipeline's directory (default: ${DEFAULT-VALUE})")
    Path out;
    @Option(names = "--resume", description = "continue the pipeline in --out: skip finished stages, resume the interrupted one")
    boolean resume;
    @Option(names = "--judgments", paramLabel = "FILE", description = "a person's judgments ('label session') instead of simulated annotators; needs --tasks")
    Path judgments;
    @Option(names = "--tasks", paramLabel = "FILE", description = "the task file those judgments rank ('label prepare')")
    Path tasks;
    @Option(names = "--sweep", description = "also DPO at each sweep.dpo_beta and PPO at each sweep.ppo_kl_coef: the reward-KL frontier")
    boolean sweep;
    @Mixin
    SparkOption spark;

    @Override
    public Integer call() throws Exception {
        // what --out already holds is Pipeline.prepare's to judge (only a pipeline directory is continued)
        OutputCheck.of("--out", out).input("--config", config).input("--judgments", judgments).input("--tasks", tasks)
                .checkInputs();
        Pipeline p = Pipeline.prepare(new Pipeline.Options(config, out, resume, judgments, tasks, sweep),
                Backend.get().kernels(), System.err);
        // every setting and input is checked above; the cluster is reached before any stage runs
        p.scaleOut(spark.scaleOut());
        return TrainingCommands.guarded(() -> {
            Pipeline.Outcome o = p.run();
            if (o.finished()) {
                PrintStream s = Console.stdout();
                s.println();
                PolicyComparison.printTable(s, o.results());
                s.println("report: " + o.report());
                s.flush();
            }
            return 0;
        });
    }
}
