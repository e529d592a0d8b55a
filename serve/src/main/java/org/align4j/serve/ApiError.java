package org.align4j.serve;

/**
 * An error a client receives in OpenAI's shape, {@code {"error": {"message", "type", "param",
 * "code"}}}, with its HTTP status. Handlers throw it; {@link Server} writes it. The message is
 * written for the client and never holds a stack trace or a server path the client did not give.
 */
public final class ApiError extends RuntimeException {

    private final int status;
    private final String type;
    private final String param;
    private final String code;

    public ApiError(int status, String type, String param, String code, String message) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    /** 400: the request is malformed or a field is invalid; {@code param} names the field. */
    public static ApiError invalid(String param, String message) {
        return new ApiError(400, "invalid_request_error", param, null, message);
    }

    /** 401: no key, or the wrong one. */
    public static ApiError unauthorized(String message) {
        return new ApiError(401, "invalid_request_error", null, "invalid_api_key", message);
    }

    /** 404: no such model, file, job or route. */
    public static ApiError notFound(String param, String message) {
        return new ApiError(404, "invalid_request_error", param, "not_found", message);
    }

    /** 409: the object is in a state that does not allow the action (cancel a finished job). */
    public static ApiError conflict(String param, String message) {
        return new ApiError(409, "invalid_request_error", param, "conflict", message);
    }

    /** 413: body or upload over the server's limit. */
    public static ApiError tooLarge(String message) {
        return new ApiError(413, "invalid_request_error", null, "request_too_large", message);
    }

    /** 429: the server is at its limit of work (queue full); the client may retry. */
    public static ApiError overloaded(String message) {
        return new ApiError(429, "rate_limit_exceeded", null, "rate_limit_exceeded", message);
    }

    /** 500: a bug in align4j; the details go to the server's log, not to the client. */
    public static ApiError internal() {
        return new ApiError(500, "server_error", null, null,
                "The server had an error while processing your request; its log has the details.");
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    public String param() {
        return param;
    }

    public String code() {
        return code;
    }
}
