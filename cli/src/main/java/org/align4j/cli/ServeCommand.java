package org.align4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import org.align4j.core.util.UserInputException;
import org.align4j.serve.ServeApp;
import org.align4j.serve.ServeConfig;
import org.align4j.serve.Server;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Serve models behind OpenAI's API (chat/completions, completions, models) and run"
                + " fine-tuning jobs through OpenAI's fine-tuning API (files, fine_tuning/jobs). State (uploaded"
                + " files, job run directories, the jobs database) lives under --data-dir; a restarted server"
                + " resumes what was running. The same server has web pages at http://HOST:PORT/ (jobs with"
                + " their curves, a playground to chat with and compare models, labeling, runs and reports).",
        footer = {"", "Examples:",
                "  align4j serve --model examples/base-model",
                "  align4j serve --model tiny=examples/base-model --port 8080 --data-dir /srv/align4j",
                "  ALIGN4J_API_KEY=sk-local align4j serve --model examples/base-model --host 0.0.0.0",
                "", "Then, with any OpenAI client:",
                "  curl http://127.0.0.1:8000/v1/chat/completions -H 'Content-Type: application/json' \\",
                "      -d '{\"model\": \"base-model\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}'",
                "", "and in a browser: http://127.0.0.1:8000/ (the web pages)"})
final class ServeCommand implements Callable<Integer> {

    @Option(names = "--model", paramLabel = "[NAME=]DIR",
            description = "a model directory to serve (repeatable); its id is NAME, or the directory's name")
    List<String> models = new ArrayList<>();
    @Option(names = "--host", description = "address to bind (default: ${DEFAULT-VALUE}); without a key only loopback")
    String host = "127.0.0.1";
    @Option(names = "--port", description = "port to listen on, 0 for any free one (default: ${DEFAULT-VALUE})")
    @Range(min = 0, max = 65535)
    int port = 8000;
    @Option(names = "--data-dir", description = "uploaded files, job runs and the jobs database (default: ${DEFAULT-VALUE})")
    Path dataDir = Path.of("align4j-data");
    @Option(names = "--api-key", description = "bearer key clients must send (default: env ALIGN4J_API_KEY; none: loopback only)")
    String apiKey;
    @Option(names = "--max-body-mb", description = "largest JSON request body in MiB (default: ${DEFAULT-VALUE})")
    @Range(min = 1, max = 4096)
    int maxBodyMb = (int) (ServeConfig.DEFAULT_MAX_BODY >> 20);
    @Option(names = "--max-upload-mb", description = "largest uploaded file in MiB (default: ${DEFAULT-VALUE})")
    @Range(min = 1, max = 65536)
    int maxUploadMb = (int) (ServeConfig.DEFAULT_MAX_UPLOAD >> 20);

    @Override
    public Integer call() throws Exception {
        String key = apiKey != null ? apiKey : System.getenv("ALIGN4J_API_KEY");
        if (key != null && key.isBlank()) {
            throw new UserInputException("--api-key: the key is empty");
        }
        ServeConfig config = new ServeConfig(namedModels(models), host, port, dataDir, key,
                (long) maxBodyMb << 20, (long) maxUploadMb << 20);
        Server server = ServeApp.create(config, System.err).start();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }));
        System.err.print(startupMessage(host, server.port(), dataDir, key != null));
        stopped.await();
        return 0;
    }

    /** Where the API and the web pages answer, and where the state lives. */
    static String startupMessage(String host, int port, Path dataDir, boolean keyed) {
        String base = "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
        return "align4j serve: OpenAI's API at " + base + "/v1" + (keyed ? " (API key required)"
                : " (no API key: loopback only)") + "\n"
                + "align4j serve: web pages at " + base + "/ (jobs, playground, labeling, runs)\n"
                + "align4j serve: data directory " + dataDir.toAbsolutePath().normalize() + "\n";
    }

    static List<ServeConfig.NamedModel> namedModels(List<String> specs) {
        List<ServeConfig.NamedModel> out = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        for (String spec : specs) {
            int eq = spec.indexOf('=');
            Path dir = Path.of(eq > 0 ? spec.substring(eq + 1) : spec);
            String id = eq > 0 ? spec.substring(0, eq) : dir.toAbsolutePath().normalize().getFileName().toString();
            if (!Files.isDirectory(dir)) {
                throw new UserInputException("--model " + spec + ": " + dir + " is not a model directory");
            }
            if (!id.matches("[A-Za-z0-9._-]+")) {
                throw new UserInputException("--model " + spec + ": the id '" + id + "' may only hold letters,"
                        + " digits, '.', '_' and '-'");
            }
            if (!ids.add(id)) {
                throw new UserInputException("--model " + spec + ": the id '" + id + "' is given twice; name them"
                        + " with --model NAME=DIR");
            }
            out.add(new ServeConfig.NamedModel(id, dir));
        }
        return out;
    }
}
