package org.align4j.serve.files;

import java.sql.SQLException;
import java.sql.ResultSet;
import java.util.List;
import java.util.Optional;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.align4j.core.util.Json;

/** The {@code files} table: uploaded files' metadata, newest first in listings. */
public final class FileStore {

    private static final String COLUMNS = "id, filename, purpose, bytes, created_at, status, status_details, extension";

    private final Database db;

    public FileStore(Database db) {
        this.db = db;
    }

    public void insert(StoredFile f) {
        db.update("INSERT INTO files(id, seq, filename, purpose, bytes, created_at, status, status_details, extension)"
                + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", f.id(), db.next("files"), f.filename(), f.purpose(), f.bytes(),
                f.createdAt(), f.status(), f.statusDetails(), f.extension().toString());
    }

    public Optional<StoredFile> find(String id) {
        return db.query("SELECT " + COLUMNS + " FROM files WHERE id = ?", FileStore::read, id).stream().findFirst();
    }

    /** Up to {@code limit} files, newest first, after the file {@code after} (null: from the newest). */
    public List<StoredFile> list(String purpose, String after, int limit) {
        String where = purpose == null ? "1 = 1" : "purpose = ?";
        Object[] base = purpose == null ? new Object[0] : new Object[] {purpose};
        if (after != null) {
            Object[] args = append(base, after, limit);
            return db.query("SELECT " + COLUMNS + " FROM files WHERE " + where
                    + " AND seq < (SELECT seq FROM files WHERE id = ?) ORDER BY seq DESC LIMIT ?", FileStore::read, args);
        }
        return db.query("SELECT " + COLUMNS + " FROM files WHERE " + where + " ORDER BY seq DESC LIMIT ?",
                FileStore::read, append(base, limit));
    }

    public boolean delete(String id) {
        return db.update("DELETE FROM files WHERE id = ?", id) > 0;
    }

    private static Object[] append(Object[] a, Object... more) {
        Object[] out = new Object[a.length + more.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(more, 0, out, a.length, more.length);
        return out;
    }

    private static StoredFile read(ResultSet rs) throws SQLException {
        try {
            return new StoredFile(rs.getString(1), rs.getString(2), rs.getString(3), rs.getLong(4), rs.getLong(5),
                    rs.getString(6), rs.getString(7), (ObjectNode) Json.MAPPER.readTree(rs.getString(8)));
        } catch (JsonProcessingException e) {
            throw new SQLException("files.extension of " + rs.getString(1) + " is not JSON", e);
        }
    }
}
