package org.align4j.serve;

import io.javalin.config.RoutesConfig;

/** One feature's HTTP routes (inference, files and jobs, pages): each route one line to a handler. */
public interface Routes {

    void register(RoutesConfig routes);

    /** Called once when the server stops: finish or checkpoint work, close stores. */
    default void close() {
    }
}
