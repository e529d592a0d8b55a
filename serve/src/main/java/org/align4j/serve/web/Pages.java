package org.align4j.serve.web;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The pages' HTML: one layout (head, navigation bar, main) around a page's body, both classpath
 * resources. A page holds no data: its script fetches what it shows from the API, with the key.
 */
final class Pages {

    /** The navigation bar: id, link, label. */
    private static final List<String[]> NAV = List.of(
            new String[] {"label", "/label", "Labeling"},
            new String[] {"runs", "/runs", "Runs"},
            new String[] {"jobs", "/jobs", "Jobs"},
            new String[] {"playground", "/playground", "Playground"});

    private static final Map<String, String> CACHE = new ConcurrentHashMap<>();

    private Pages() {
    }

    static String render(String title, String nav, String bodyResource, boolean keyed) {
        StringBuilder links = new StringBuilder();
        for (String[] n : NAV) {
            links.append("<li><a href=\"").append(n[1]).append('"')
                    .append(n[0].equals(nav) ? " aria-current=\"page\"" : "").append('>').append(n[2])
                    .append("</a></li>");
        }
        return resource("layout.html").replace("{{title}}", escape(title)).replace("{{nav}}", links)
                .replace("{{keyed}}", String.valueOf(keyed))
                .replace("{{body}}", resource(bodyResource));
    }

    private static String resource(String name) {
        return CACHE.computeIfAbsent(name, n -> {
            try (InputStream in = Pages.class.getResourceAsStream("/org/align4j/serve/web/pages/" + n)) {
                if (in == null) {
                    throw new IllegalStateException("missing page resource " + n);
                }
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
