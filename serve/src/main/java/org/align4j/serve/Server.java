package org.align4j.serve;

import java.io.PrintStream;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.javalin.Javalin;
import io.javalin.config.SizeUnit;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.javalin.json.JavalinJackson;

import org.align4j.core.util.Json;
import org.align4j.core.util.UserInputException;

/**
 * The HTTP server of {@code align4j serve}: Javalin on Jetty, with what every route shares
 * (bearer keys compared in constant time, body limits, errors in OpenAI's shape and never a stack
 * trace in a response). Features bring their routes as {@link Routes}.
 */
public final class Server implements AutoCloseable {

    private final ServeConfig config;
    private final List<Routes> features;
    private final PrintStream log;
    private Javalin app;

    public Server(ServeConfig config, List<Routes> features, PrintStream log) {
        this.config = config;
        this.features = List.copyOf(features);
        this.log = log;
        requireSafeBinding(config);
    }

    /** Without a key the server answers only this machine: a non-loopback host is refused. */
    static void requireSafeBinding(ServeConfig config) {
        if (config.apiKey() != null) {
            return;
        }
        try {
            for (InetAddress a : InetAddress.getAllByName(config.host())) {
                if (!a.isLoopbackAddress()) {
                    throw new UserInputException("--host " + config.host() + " is not a loopback address: without"
                            + " --api-key (or ALIGN4J_API_KEY) the server only binds to 127.0.0.1 or ::1");
                }
            }
        } catch (UnknownHostException e) {
            throw new UserInputException("--host " + config.host() + ": unknown host");
        }
    }

    public Server start() {
        app = Javalin.create(cfg -> {
            cfg.jetty.host = config.host();
            cfg.jetty.port = config.port();
            cfg.http.maxRequestSize = config.maxBodyBytes();
            cfg.jetty.multipartConfig.maxFileSize(config.maxUploadBytes(), SizeUnit.BYTES);
            cfg.jetty.multipartConfig.maxTotalRequestSize(config.maxUploadBytes() + (1 << 20), SizeUnit.BYTES);
            cfg.jsonMapper(new JavalinJackson(Json.MAPPER, false));
            cfg.startup.showJavalinBanner = false;
            cfg.routes.before("/v1/*", this::authenticate);
            cfg.routes.before("/api/*", this::authenticate);
            cfg.routes.exception(ApiError.class, (e, ctx) -> write(ctx, e));
            cfg.routes.exception(JsonProcessingException.class, (e, ctx) -> write(ctx,
                    ApiError.invalid(null, "We could not parse the JSON body of your request: "
                            + e.getOriginalMessage())));
            cfg.routes.exception(UserInputException.class, (e, ctx) -> write(ctx, ApiError.invalid(null, e.getMessage())));
            cfg.routes.exception(HttpResponseException.class, (e, ctx) -> write(ctx, fromHttp(e)));
            cfg.routes.exception(Exception.class, (e, ctx) -> {
                log.println("align4j serve: internal error on " + ctx.method() + " " + ctx.path() + ":");
                e.printStackTrace(log);
                write(ctx, ApiError.internal());
            });
            cfg.routes.error(404, ctx -> {
                if (ctx.result() == null || ctx.result().isEmpty()) {
                    write(ctx, ApiError.notFound(null, "Unknown request URL: " + ctx.method() + " " + ctx.path()));
                }
            });
            for (Routes f : features) {
                f.register(cfg.routes);
            }
        });
        app.start();
        return this;
    }

    /** The port the server listens on (the chosen one when {@code --port 0}). */
    public int port() {
        return app.port();
    }

    private void authenticate(Context ctx) {
        if (config.apiKey() == null) {
            return;
        }
        String header = ctx.header("Authorization");
        String given = header != null && header.startsWith("Bearer ") ? header.substring(7).trim() : "";
        if (!keyMatches(given, config.apiKey())) {
            throw ApiError.unauthorized(header == null
                    ? "You didn't provide an API key. Provide it as 'Authorization: Bearer KEY'."
                    : "Incorrect API key provided.");
        }
    }

    /** Constant time in the key's contents (MessageDigest.isEqual compares every byte). */
    static boolean keyMatches(String given, String expected) {
        return MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), expected.getBytes(StandardCharsets.UTF_8));
    }

    private static ApiError fromHttp(HttpResponseException e) {
        int s = e.getStatus();
        if (s == 413) {
            return ApiError.tooLarge("Request body too large: " + e.getMessage());
        }
        if (s == 404) {
            return ApiError.notFound(null, e.getMessage());
        }
        return new ApiError(s, s >= 500 ? "server_error" : "invalid_request_error", null, null, e.getMessage());
    }

    /** Writes {@code e} in OpenAI's shape. */
    public static void write(Context ctx, ApiError e) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("message", e.getMessage());
        body.put("type", e.type());
        body.put("param", e.param());
        body.put("code", e.code());
        ctx.status(e.status()).json(Map.of("error", body));
    }

    @Override
    public void close() {
        if (app != null) {
            app.stop();
        }
        for (Routes f : features) {
            f.close();
        }
    }
}
