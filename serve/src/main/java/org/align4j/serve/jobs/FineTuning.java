package org.align4j.serve.jobs;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;

import io.javalin.config.RoutesConfig;

import org.align4j.serve.ModelCatalog;
import org.align4j.serve.Routes;
import org.align4j.serve.ServeConfig;
import org.align4j.serve.files.Database;
import org.align4j.serve.files.FileRoutes;
import org.align4j.serve.files.FileService;
import org.align4j.serve.files.FileStore;

/**
 * OpenAI's files and fine-tuning API on one data directory: the database, the file and job
 * services, their routes, and the job runner (started here, stopped by {@link #close()}).
 */
public final class FineTuning implements Routes {

    private final ServeConfig config;
    private final ModelCatalog catalog;
    private final PrintStream log;
    private Database db;
    private JobRunner runner;

    private FineTuning(ServeConfig config, ModelCatalog catalog, PrintStream log) {
        this.config = config;
        this.catalog = catalog;
        this.log = log;
    }

    /**
     * The feature on {@code config.dataDir()}; the data directory is opened (refused while another
     * server holds it) and the queue started when the server starts.
     */
    public static FineTuning of(ServeConfig config, ModelCatalog catalog, PrintStream log) {
        return new FineTuning(config, catalog, log);
    }

    @Override
    public void register(RoutesConfig routes) {
        Path dataDir = config.dataDir();
        try {
            db = Database.open(dataDir);
            JobStore jobs = new JobStore(db);
            FileService.EstimateModel estimate = catalog.list().stream().findFirst()
                    .map(e -> new FileService.EstimateModel(e.id(), e.dir(), FileService.contextLength(e.dir())))
                    .orElse(null);
            FileService files = new FileService(new FileStore(db), dataDir, estimate, jobs::fileInUse);
            JobService service = new JobService(jobs, files, catalog, dataDir);
            new FileRoutes(files, config.maxUploadBytes()).register(routes);
            new JobRoutes(service).register(routes);
            runner = new JobRunner(jobs, service, files, catalog, dataDir, log).start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        if (runner != null) {
            runner.close();
        }
        if (db != null) {
            db.close();
        }
    }
}
