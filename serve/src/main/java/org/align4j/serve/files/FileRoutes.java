package org.align4j.serve.files;

import java.util.Locale;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.javalin.http.UploadedFile;

import org.align4j.core.util.Json;
import org.align4j.serve.ApiError;

/** {@code /v1/files}: upload (multipart), list, retrieve, content, delete; OpenAI's shapes. */
public final class FileRoutes {

    private final FileService files;
    private final long maxUploadBytes;

    public FileRoutes(FileService files, long maxUploadBytes) {
        this.files = files;
        this.maxUploadBytes = maxUploadBytes;
    }

    public void register(RoutesConfig routes) {
        routes.post("/v1/files", this::upload);
        routes.get("/v1/files", this::list);
        routes.get("/v1/files/{id}", ctx -> ctx.json(json(files.get(ctx.pathParam("id"), "file_id"))));
        routes.get("/v1/files/{id}/content", this::content);
        routes.delete("/v1/files/{id}", this::delete);
    }

    private void upload(Context ctx) throws IOException {
        // refused before the body is read when the client says it is too large
        if (ctx.contentLength() > maxUploadBytes + (1 << 20)) {
            throw tooLarge();
        }
        if (!ctx.isMultipartFormData()) {
            throw ApiError.invalid("file", "Upload a file as multipart/form-data with fields 'file' and 'purpose'.");
        }
        UploadedFile file;
        String purpose;
        try {
            file = ctx.uploadedFile("file");
            purpose = ctx.formParam("purpose");
        } catch (Exception e) {
            // Jetty reports a part over the limit as a bad multipart body: the size tells which it was
            if (ctx.contentLength() > maxUploadBytes || isSizeLimit(e)) {
                throw tooLarge();
            }
            throw ApiError.invalid("file", "The multipart body could not be read: " + e.getMessage());
        }
        if (file == null) {
            throw ApiError.invalid("file", "Missing required parameter: 'file'.");
        }
        if (file.size() > maxUploadBytes) {
            throw tooLarge();
        }
        try (InputStream in = file.content()) {
            ctx.json(json(files.upload(file.filename(), purpose, in)));
        }
    }

    private ApiError tooLarge() {
        return ApiError.tooLarge("The file is larger than this server's upload limit of " + maxUploadBytes
                + " bytes (align4j serve --max-upload-mb).");
    }

    private static boolean isSizeLimit(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = String.valueOf(t.getMessage()).toLowerCase(Locale.ROOT);
            if (m.contains("exceeds") || m.contains("too large") || m.contains("max file size")
                    || m.contains("maxfilesize") || m.contains("413")) {
                return true;
            }
        }
        return false;
    }

    private void list(Context ctx) {
        int limit = Pages.limit(ctx, 10000, 10000);
        String after = ctx.queryParam("after");
        ctx.json(Pages.list(files.list(ctx.queryParam("purpose"), after, limit + 1), limit, FileRoutes::json));
    }

    private void content(Context ctx) throws IOException {
        StoredFile f = files.get(ctx.pathParam("id"), "file_id");
        ctx.contentType("application/octet-stream");
        ctx.header("Content-Disposition", "attachment; filename=\"" + f.filename().replace("\"", "") + "\"");
        ctx.result(Files.newInputStream(files.path(f.id())));
    }

    private void delete(Context ctx) throws IOException {
        String id = ctx.pathParam("id");
        files.delete(id);
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("id", id);
        o.put("object", "file");
        o.put("deleted", true);
        ctx.json(o);
    }

    /** OpenAI's file object, with align4j's validation summary and estimate under {@code align4j}. */
    public static ObjectNode json(StoredFile f) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("id", f.id());
        o.put("object", "file");
        o.put("bytes", f.bytes());
        o.put("created_at", f.createdAt());
        o.put("filename", f.filename());
        o.put("purpose", f.purpose());
        o.put("status", f.status());
        o.put("status_details", f.statusDetails());
        o.set("align4j", f.extension());
        return o;
    }
}
