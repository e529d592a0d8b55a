package org.align4j.serve;

import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.align4j.serve.web.WebRoutes;
import org.align4j.serve.jobs.FineTuning;
import org.align4j.serve.infer.InferenceRoutes;

/**
 * Assembles {@code align4j serve}: the model catalog with the {@code --model} directories, and
 * each feature's routes on one {@link Server}.
 */
public final class ServeApp {

    private ServeApp() {
    }

    public static Server create(ServeConfig config, PrintStream log) {
        ModelCatalog catalog = new ModelCatalog();
        long now = Instant.now().getEpochSecond();
        for (ServeConfig.NamedModel m : config.models()) {
            catalog.register(m.id(), m.dir(), "align4j", now);
        }
        List<Routes> features = new ArrayList<>();
        features.add(routes -> routes.get("/health", ctx -> ctx.json(Map.of("status", "ok"))));
        features.add(new WebRoutes(config));
        features.add(FineTuning.of(config, catalog, log));
        features.add(new InferenceRoutes(catalog, log));
        return new Server(config, features, log);
    }
}
