package org.align4j.core.kernels;

/**
 * Whether the JVM resolved {@code jdk.incubator.vector} (Java 17 needs {@code --add-modules
 * jdk.incubator.vector}, which {@code ./align4j} and the tests pass): only then may
 * {@link VectorFewRows} load. A JVM started without it (a Spark executor, an embedding
 * application) keeps the chunked sgemv path. {@code -Dalign4j.vector=false} turns the Vector
 * API's path off where it is available, to compare the two.
 */
public final class VectorSupport {

    private static final boolean AVAILABLE = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

    private VectorSupport() {
    }

    static boolean available() {
        return AVAILABLE;
    }

    /** Available and not switched off by {@code -Dalign4j.vector=false}. */
    static boolean enabled() {
        return AVAILABLE && !"false".equalsIgnoreCase(System.getProperty("align4j.vector"));
    }

    /**
     * The JVM options under which another JVM (a Spark executor) takes this one's path: the two paths
     * round differently, and a job must print what the single process prints.
     */
    public static String sameChoiceJvmOptions() {
        return enabled() ? "--add-modules jdk.incubator.vector" : "-Dalign4j.vector=false";
    }
}
