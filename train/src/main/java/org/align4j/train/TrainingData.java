package org.align4j.train;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Set;

import org.align4j.data.format.Dataset;
import org.align4j.data.format.RecordKind;

/** A stage's data files, read with the checks of {@code data validate} and the shared format options. */
public final class TrainingData {

    private TrainingData() {
    }

    /** How a training stage skips bad records: the flag, or its key in a config file or a pipeline section. */
    public static final String SKIP_OPTION = "--skip-bad-records (skip_bad_records: true in a config file)";

    /**
     * Reads {@code file} (records of one of {@code kinds}; {@code --format} forces the kind); bad
     * records stop the run with FILE:LINE, unless {@code --skip-bad-records}, which lists them.
     */
    public static Dataset read(TrainingOptions opts, String file, String what, Set<RecordKind> kinds, PrintStream log)
            throws IOException {
        Dataset d = Dataset.read(Path.of(file), opts.format() == null ? null : RecordKind.parse(opts.format()),
                opts.skipBadRecords(), kinds, SKIP_OPTION);
        if (!d.skipped().isEmpty()) {
            log.printf("%s: skipped %d bad record(s) (--skip-bad-records) at line(s) %s%n", file,
                    d.skippedLines().size(), d.skippedLines());
        }
        log.printf("%s data: %s, %d %s records%n", what, file, d.records().size(), d.kind().id());
        return d;
    }
}
