package org.align4j.train.scale;

/**
 * Found by {@link java.util.ServiceLoader}: the {@code cluster} module's Spark implementation
 * registers one, so that only a command given a master URL loads the engine's classes.
 */
public interface ClusterProvider {

    /** Connects to (or, for an embedded master, starts) the cluster at {@code master}. */
    Cluster connect(String master);
}
