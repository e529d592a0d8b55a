package org.align4j.serve.files;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import org.align4j.core.output.WriterLock;
import org.align4j.core.util.UserInputException;

/**
 * The server's one database, {@code DATA_DIR/align4j.db} (SQLite, WAL journal, synchronous=FULL:
 * a commit is on disk before a response says it happened), holding files, jobs, their events and
 * checkpoints. One process writes a data directory: the directory's writer lock is held for as
 * long as the database is open. Access is serialized through this object (one connection).
 */
public final class Database implements AutoCloseable {

    /** The schema this code reads and writes; a newer database is refused rather than misread. */
    public static final int SCHEMA_VERSION = 1;

    /** Reads one row of a result. */
    @FunctionalInterface
    public interface RowReader<T> {
        T read(ResultSet rs) throws SQLException;
    }

    private final Path dataDir;
    private final WriterLock lock;
    private final Connection connection;

    private Database(Path dataDir, WriterLock lock, Connection connection) {
        this.dataDir = dataDir;
        this.lock = lock;
        this.connection = connection;
    }

    public static Database open(Path dataDir) throws IOException {
        Files.createDirectories(dataDir);
        WriterLock lock = WriterLock.directory(dataDir, "data directory");
        try {
            Connection c = DriverManager.getConnection("jdbc:sqlite:" + dataDir.resolve("align4j.db").toAbsolutePath());
            try (Statement s = c.createStatement()) {
                s.execute("PRAGMA journal_mode=WAL");
                s.execute("PRAGMA synchronous=FULL");
                s.execute("PRAGMA foreign_keys=ON");
                int version;
                try (ResultSet rs = s.executeQuery("PRAGMA user_version")) {
                    version = rs.getInt(1);
                }
                if (version > SCHEMA_VERSION) {
                    c.close();
                    throw new UserInputException(dataDir.resolve("align4j.db") + ": schema version " + version
                            + " was written by a newer align4j (this one reads " + SCHEMA_VERSION + ")");
                }
                if (version == 0) {
                    createSchema(s);
                }
            }
            return new Database(dataDir, lock, c);
        } catch (UserInputException e) {
            lock.close();
            throw e;
        } catch (SQLException | RuntimeException e) {
            lock.close();
            throw new IOException("opening the jobs database in " + dataDir + ": " + e.getMessage(), e);
        }
    }

    private static void createSchema(Statement s) throws SQLException {
        s.execute("BEGIN");
        s.execute("CREATE TABLE files (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, filename TEXT NOT NULL,"
                + " purpose TEXT NOT NULL, bytes INTEGER NOT NULL, created_at INTEGER NOT NULL, status TEXT NOT NULL,"
                + " status_details TEXT, extension TEXT NOT NULL)");
        s.execute("CREATE TABLE jobs (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, created_at INTEGER NOT NULL,"
                + " status TEXT NOT NULL, spec TEXT NOT NULL, fine_tuned_model TEXT, finished_at INTEGER,"
                + " trained_tokens INTEGER, error TEXT, estimated_finish INTEGER, stop_request TEXT,"
                + " mirrored_step INTEGER NOT NULL DEFAULT 0, mirrored_run_events INTEGER NOT NULL DEFAULT 0,"
                + " extension TEXT NOT NULL DEFAULT '{}')");
        s.execute("CREATE TABLE events (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, job_id TEXT NOT NULL"
                + " REFERENCES jobs(id), created_at INTEGER NOT NULL, level TEXT NOT NULL, type TEXT NOT NULL,"
                + " message TEXT NOT NULL, data TEXT)");
        s.execute("CREATE INDEX events_by_job ON events(job_id, seq)");
        s.execute("CREATE TABLE checkpoints (id TEXT PRIMARY KEY, job_id TEXT NOT NULL REFERENCES jobs(id),"
                + " step INTEGER NOT NULL, created_at INTEGER NOT NULL, model_id TEXT NOT NULL, dir TEXT NOT NULL,"
                + " metrics TEXT NOT NULL)");
        s.execute("CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)");
        s.execute("PRAGMA user_version=" + SCHEMA_VERSION);
        s.execute("COMMIT");
    }

    public Path dataDir() {
        return dataDir;
    }

    /** The next value of a monotonic counter (the order of rows created in the same second). */
    public synchronized long next(String counter) {
        update("INSERT INTO counters(name, value) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1",
                counter);
        return query("SELECT value FROM counters WHERE name = ?", rs -> rs.getLong(1), counter).get(0);
    }

    public synchronized int update(String sql, Object... args) {
        try (PreparedStatement p = prepare(sql, args)) {
            return p.executeUpdate();
        } catch (SQLException e) {
            throw new IllegalStateException("database: " + e.getMessage() + " in " + sql, e);
        }
    }

    public synchronized <T> List<T> query(String sql, RowReader<T> reader, Object... args) {
        try (PreparedStatement p = prepare(sql, args); ResultSet rs = p.executeQuery()) {
            List<T> out = new ArrayList<>();
            while (rs.next()) {
                out.add(reader.read(rs));
            }
            return out;
        } catch (SQLException e) {
            throw new IllegalStateException("database: " + e.getMessage() + " in " + sql, e);
        }
    }

    private PreparedStatement prepare(String sql, Object... args) throws SQLException {
        PreparedStatement p = connection.prepareStatement(sql);
        for (int i = 0; i < args.length; i++) {
            p.setObject(i + 1, args[i]);
        }
        return p;
    }

    @Override
    public synchronized void close() {
        try {
            connection.close();
        } catch (SQLException ignored) {
            // closing: nothing left to save
        } finally {
            try {
                lock.close();
            } catch (IOException ignored) {
                // the OS drops the lock with the process anyway
            }
        }
    }
}
