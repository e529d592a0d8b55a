package org.align4j.cluster;

import org.align4j.train.scale.Cluster;
import org.align4j.train.scale.ClusterProvider;

/** Registered in META-INF/services: the seam's Spark engine. */
public final class SparkClusterProvider implements ClusterProvider {

    @Override
    public Cluster connect(String master) {
        return SparkCluster.connect(master);
    }
}
