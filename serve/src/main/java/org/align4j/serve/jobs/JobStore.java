package org.align4j.serve.jobs;

import java.util.Collections;
import java.util.ArrayList;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.util.Json;
import org.align4j.serve.files.Database;
import org.align4j.serve.files.Ids;

/** The {@code jobs}, {@code events} and {@code checkpoints} tables. Listings are newest first, as OpenAI's. */
public final class JobStore {

    /** One event of a job: a message, or a step's metrics in {@code data}. */
    public record Event(String id, long createdAt, String level, String type, String message, JsonNode data) {
    }

    /** A checkpoint of a job: its step, servable model id, directory (relative to the job's) and metrics. */
    public record Checkpoint(String id, String jobId, long step, long createdAt, String modelId, String dir,
                             ObjectNode metrics) {
    }

    private static final String JOB_COLUMNS = "id, created_at, status, spec, fine_tuned_model, finished_at,"
            + " trained_tokens, error, estimated_finish, stop_request, mirrored_step, mirrored_run_events, extension";

    private final Database db;

    public JobStore(Database db) {
        this.db = db;
    }

    public Database database() {
        return db;
    }

    public void insert(Job j) {
        db.update("INSERT INTO jobs(id, seq, created_at, status, spec, extension) VALUES (?, ?, ?, ?, ?, ?)", j.id(),
                db.next("jobs"), j.createdAt(), j.status(), j.spec().toString(), j.extension().toString());
    }

    public Optional<Job> find(String id) {
        return db.query("SELECT " + JOB_COLUMNS + " FROM jobs WHERE id = ?", JobStore::job, id).stream().findFirst();
    }

    public List<Job> list(String after, int limit) {
        if (after != null) {
            return db.query("SELECT " + JOB_COLUMNS + " FROM jobs WHERE seq < (SELECT seq FROM jobs WHERE id = ?)"
                    + " ORDER BY seq DESC LIMIT ?", JobStore::job, after, limit);
        }
        return db.query("SELECT " + JOB_COLUMNS + " FROM jobs ORDER BY seq DESC LIMIT ?", JobStore::job, limit);
    }

    /** Jobs in any of {@code statuses}, oldest first (the queue's order). */
    public List<Job> withStatus(String... statuses) {
        String marks = String.join(", ", Collections.nCopies(statuses.length, "?"));
        return db.query("SELECT " + JOB_COLUMNS + " FROM jobs WHERE status IN (" + marks + ") ORDER BY seq",
                JobStore::job, (Object[]) statuses);
    }

    /** Whether a job that has not finished reads file {@code fileId}. */
    public boolean fileInUse(String fileId) {
        for (Job j : withStatus(Job.VALIDATING, Job.QUEUED, Job.RUNNING, Job.PAUSED)) {
            if (fileId.equals(j.spec().path("training_file").asText()) || fileId.equals(j.spec().path("validation_file")
                    .asText())) {
                return true;
            }
        }
        return false;
    }

    public void setStatus(String id, String status) {
        db.update("UPDATE jobs SET status = ? WHERE id = ?", status, id);
    }

    /** Sets {@code status} only if the job is still in {@code expected}; false when it moved meanwhile. */
    public boolean moveStatus(String id, String expected, String status) {
        return db.update("UPDATE jobs SET status = ? WHERE id = ? AND status = ?", status, id, expected) > 0;
    }

    public void setStopRequest(String id, String request) {
        db.update("UPDATE jobs SET stop_request = ? WHERE id = ?", request, id);
    }

    public void setExtension(String id, ObjectNode extension) {
        db.update("UPDATE jobs SET extension = ? WHERE id = ?", extension.toString(), id);
    }

    public void setEstimatedFinish(String id, Long when) {
        db.update("UPDATE jobs SET estimated_finish = ? WHERE id = ?", when, id);
    }

    public void setMirrored(String id, long step, long runEvents) {
        db.update("UPDATE jobs SET mirrored_step = ?, mirrored_run_events = ? WHERE id = ?", step, runEvents, id);
    }

    public void finish(String id, String status, String fineTunedModel, Long trainedTokens, ObjectNode error) {
        db.update("UPDATE jobs SET status = ?, fine_tuned_model = ?, trained_tokens = ?, error = ?, finished_at = ?,"
                + " estimated_finish = NULL, stop_request = NULL WHERE id = ?", status, fineTunedModel, trainedTokens,
                error == null ? null : error.toString(), Instant.now().getEpochSecond(), id);
    }

    public void addEvent(String jobId, String level, String type, String message, JsonNode data) {
        db.update("INSERT INTO events(id, seq, job_id, created_at, level, type, message, data) VALUES"
                + " (?, ?, ?, ?, ?, ?, ?, ?)", Ids.next(Ids.EVENT), db.next("events"), jobId,
                Instant.now().getEpochSecond(), level, type, message, data == null ? null : data.toString());
    }

    public List<Event> events(String jobId, String after, int limit) {
        String sql = "SELECT id, created_at, level, type, message, data FROM events WHERE job_id = ?"
                + (after != null ? " AND seq < (SELECT seq FROM events WHERE id = ?)" : "") + " ORDER BY seq DESC LIMIT ?";
        Object[] args = after != null ? new Object[] {jobId, after, limit} : new Object[] {jobId, limit};
        return db.query(sql, rs -> new Event(rs.getString(1), rs.getLong(2), rs.getString(3), rs.getString(4),
                rs.getString(5), rs.getString(6) == null ? null : tree(rs.getString(6))), args);
    }

    public void addCheckpoint(Checkpoint c) {
        db.update("INSERT INTO checkpoints(id, job_id, step, created_at, model_id, dir, metrics) VALUES"
                + " (?, ?, ?, ?, ?, ?, ?)", c.id(), c.jobId(), c.step(), c.createdAt(), c.modelId(), c.dir(),
                c.metrics().toString());
    }

    /** A job's checkpoints, newest (highest step) first; all jobs' when {@code jobId} is null. */
    public List<Checkpoint> checkpoints(String jobId, String after, int limit) {
        String sql = "SELECT id, job_id, step, created_at, model_id, dir, metrics FROM checkpoints WHERE "
                + (jobId == null ? "1 = 1" : "job_id = ?")
                + (after != null ? " AND step < (SELECT step FROM checkpoints WHERE id = ?)" : "")
                + " ORDER BY step DESC LIMIT ?";
        List<Object> args = new ArrayList<>();
        if (jobId != null) {
            args.add(jobId);
        }
        if (after != null) {
            args.add(after);
        }
        args.add(limit);
        return db.query(sql, rs -> new Checkpoint(rs.getString(1), rs.getString(2), rs.getLong(3), rs.getLong(4),
                rs.getString(5), rs.getString(6), (ObjectNode) tree(rs.getString(7))), args.toArray());
    }

    private static JsonNode tree(String json) throws SQLException {
        try {
            return Json.MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new SQLException("not JSON: " + e.getOriginalMessage(), e);
        }
    }

    private static Job job(ResultSet rs) throws SQLException {
        return new Job(rs.getString(1), rs.getLong(2), rs.getString(3), (ObjectNode) tree(rs.getString(4)),
                rs.getString(5), rs.getObject(6) == null ? null : rs.getLong(6),
                rs.getObject(7) == null ? null : rs.getLong(7),
                rs.getString(8) == null ? null : (ObjectNode) tree(rs.getString(8)),
                rs.getObject(9) == null ? null : rs.getLong(9), rs.getString(10), rs.getLong(11), rs.getLong(12),
                (ObjectNode) tree(rs.getString(13)));
    }
}
