package org.align4j.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import org.align4j.serve.infer.LoadGenerator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Load-test a running align4j serve (or any OpenAI-compatible server) over HTTP: at each",
                "concurrency, that many clients send chat completions back to back (greedy, exactly --max-tokens",
                "tokens each); prints completion tokens/s, the speed-up over the first row, and p50/p95 latency."},
        footer = {"", "Examples:",
                "  align4j serve --model examples/base-model &",
                "  align4j bench serve --model base-model --clients 1,4,8,16 --requests 8 --max-tokens 64",
                "  align4j bench serve --url http://10.0.0.5:8000/v1 --api-key sk-local --model ft:base-model:x:ftjob-1"})
final class ServeBenchCommand implements Callable<Integer> {

    @Option(names = "--url", defaultValue = "http://127.0.0.1:8000/v1", description = "the server's API base"
            + " (default: ${DEFAULT-VALUE})")
    String url;
    @Option(names = "--api-key", description = "bearer key (default: env ALIGN4J_API_KEY, else none)")
    String apiKey;
    @Option(names = "--model", required = true, description = "model id to call")
    String model;
    @Option(names = "--clients", split = ",", defaultValue = "1,4,8,16",
            description = "concurrencies to measure, in order (default: ${DEFAULT-VALUE})")
    List<Integer> clients = new ArrayList<>();
    @Range(min = 1, max = 100000)
    @Option(names = "--requests", defaultValue = "8", description = "requests per client at each concurrency"
            + " (default: ${DEFAULT-VALUE})")
    int requests;
    @Range(min = 1, max = 1000000)
    @Option(names = "--max-tokens", defaultValue = "64", description = "tokens each request decodes (default:"
            + " ${DEFAULT-VALUE})")
    int maxTokens;
    @Option(names = "--prompt", defaultValue = "Tell me a story about a dragon.",
            description = "user message; each request appends its number (default: ${DEFAULT-VALUE})")
    String prompt;

    @Override
    public Integer call() throws Exception {
        for (int c : clients) {
            if (c < 1 || c > 4096) {
                throw new UserError("--clients: each concurrency must be in [1, 4096], got " + c);
            }
        }
        String key = apiKey != null ? apiKey : System.getenv("ALIGN4J_API_KEY");
        String base = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
        LoadGenerator gen = new LoadGenerator(new LoadGenerator.Config(base, key, model, prompt, maxTokens, requests));
        PrintStream out = Console.stdout();
        gen.warmUp();
        List<LoadGenerator.Row> rows = new ArrayList<>();
        for (int c : clients) {
            LoadGenerator.Row r = gen.measure(c);
            rows.add(r);
            System.err.printf("%d clients: %.1f tokens/s, p50 %.2f s, p95 %.2f s%n", c, r.tokensPerSecond(),
                    r.p50Seconds(), r.p95Seconds());
        }
        out.print(LoadGenerator.table(rows));
        out.flush();
        return 0;
    }
}
